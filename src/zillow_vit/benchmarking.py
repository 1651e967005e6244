"""What every benchmark script prints: the machine it ran on and a plain table of figures."""

import os
import platform

import torch


def cpu_name() -> str:
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            name = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), None)
            if name:
                return name
    return platform.processor() or platform.machine()


def machine_summary(device: torch.device | None = None) -> str:
    """CPUs, torch and its threads, and the device (GPU name when on CUDA)."""
    device = device or torch.device("cpu")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return (f"{os.cpu_count()} CPUs ({cpu_name()}), torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"device {device.type}: {device_name}")  # fmt: skip


def print_table(rows: list[dict], columns: dict[str, str]) -> None:
    """`columns` maps each row key to its printed format (e.g. "{:.2f}"); None prints as "-"."""
    cells = [["-" if row[key] is None else fmt.format(row[key]) for key, fmt in columns.items()] for row in rows]
    widths = [max(len(key), *(len(line[i]) for line in cells)) for i, key in enumerate(columns)]
    print("  ".join(key.rjust(width) for key, width in zip(columns, widths)))
    for line in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))
