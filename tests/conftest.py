"""Shared fixtures: small listing exports written on the fly and a loopback HTTP server."""

import functools
import importlib.util
import json
import os
import threading
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from PIL import Image
from transformers import TimmWrapperConfig, TimmWrapperModel, ViTConfig, ViTImageProcessor, ViTModel

BLOCK_PROJECT_IMPORTS = r"""
import importlib.abc, sys

class BlockProject(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("zillow_vit", "dataset_builder"):
            raise ImportError(f"{name} must not be imported by Hub custom code")

sys.meta_path.insert(0, BlockProject())
"""
"""Opening of a script for a fresh interpreter that must not import the project (as Hub users run remote code)."""

SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts")


def load_script(name):
    """A script of scripts/ as a module, so tests call its `main(argv)` in-process."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(SCRIPTS_DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_tiny_vit_checkpoint(folder):
    """A random 32 px ViT saved like a Hub backbone (model + image processor with its own mean/std)."""
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    ViTModel(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.4] * 3, image_std=[0.2] * 3).save_pretrained(
        folder
    )
    return str(folder)


def write_tiny_timm_checkpoint(folder, **pretrained_cfg):
    """A random 32 px timm EfficientNet (batch norms included) saved like a Hub backbone; `pretrained_cfg` overrides
    its preprocessing (mean = std = 0.5 by default)."""
    torch.manual_seed(0)
    pretrained_cfg = {
        "input_size": (3, 32, 32),
        "mean": (0.5,) * 3,
        "std": (0.5,) * 3,
        "num_classes": 0,
        **pretrained_cfg,
    }
    config = TimmWrapperConfig.from_dict(
        {"architecture": "test_efficientnet", "pretrained_cfg": pretrained_cfg}, num_labels=3
    )
    TimmWrapperModel(config).save_pretrained(folder)
    return str(folder)


def write_photo(path, size=(40, 30), colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format="JPEG")
    return path


def write_listing(folder, houses, name="houses.json"):
    path = folder / name
    path.write_text(json.dumps(houses))
    return path


def simple_houses(folder, count=30, photos_per_house=2):
    """`count` good houses with prices 100k, 110k, ... and photos under `folder/images/`."""
    houses = []
    for index in range(count):
        photos = []
        for k in range(photos_per_house):
            write_photo(folder / "images" / f"{index}_{k}.jpg", colour=(index * 8 % 256, k * 60, 90))
            photos.append(f"images/{index}_{k}.jpg")
        houses.append({"id": str(index), "price": 100_000 + 10_000 * index, "images": photos})
    return houses


class LoopbackServer:
    """Serves a folder on 127.0.0.1; counts requests per path; can fail a path with given statuses first
    (a status, or a (status, headers) pair), and answers the paths of `routes` with their own handler
    (`route(request_handler)`, for faulty responses)."""

    def __init__(self, directory):
        self.hits = Counter()
        self.failures = {}  # path -> list of statuses (or (status, headers)) to answer before serving the file
        self.routes = {}  # path -> function of the request handler that writes the whole response
        self.stopping = threading.Event()
        server = self

        class Handler(SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.hits[self.path] += 1
                planned = server.failures.get(self.path)
                if planned:
                    status, headers = planned.pop(0), {}
                    if isinstance(status, tuple):
                        status, headers = status
                    self.send_response(status)
                    for name, value in {"Content-Length": "0", **headers}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    return
                route = server.routes.get(self.path.split("?")[0])
                if route:
                    route(self)
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(directory):
        server = LoopbackServer(directory).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()
