#!/usr/bin/python3
"""Reference fixtures for the train-cam equivalence test (tests/ReCam.Tests/Training/TrainStepEquivalenceTests.cs).

RUN ONCE; the outputs are committed and the tests read them, never this script.
    /usr/bin/python3 make_fixtures.py        (from this folder; needs Debian's python3-torch 1.13, numpy, Pillow)

Written independently from the description of the official code (ReCAM's net/resnet50_cam.py Net, misc/torchutils.py
PolyOptimizer, step/train_cam.py, voc12/dataloader.py and misc/imutils.py), not from ReCam's C#:

  train_step.npz   A ResNet with one BasicBlock per stage (strides 2,2,2,1; every batch norm frozen to its running
                   statistics; conv1 and bn1 not trained), classifier W1 = 1x1 conv without bias on the spatial mean of
                   the features, C = 5. Weights come from a formula of each parameter's name (weights(), below; the C#
                   test computes the same formula), the batch of 4 images of 64x64 from another formula (batch()).
                   Ten official train_cam steps: multilabel_soft_margin_loss, torch.optim.SGD(params, lr, 1e-4) (that
                   positional 1e-4 is SGD's momentum, the official quirk) with per-group lr 0.1 (backbone) and 1.0
                   (classifier) and weight decay 1e-4, poly rate base * (1 - t/10)^0.9 set before each step.
                   Keys: "loss" [10]; "grad1/<name>", "after1/<name>", "after10/<name>": for every trained parameter,
                   [sum, sum of |x|, x[0], x[n/7], x[2n/7], ..., x[6n/7], x[n-1]] of its gradient at step 1 and its values
                   after steps 1 and 10.
  augment_<i>.npy  The classification augmentation of imutils applied to ../Imaging/src_rgb_37x29.png with fixed draws
                   (long side L, flip, crop box; crop 32): PIL bicubic resize to the long side L (sizes rounded half to
                   even), TorchvisionNormalize, horizontal flip, random_crop with fill 0, HWC -> CHW. float32 (3, 32, 32).
  augment.tsv      The draws of each augment_<i>.npy: L, flip, cont_top, img_top, cont_left, img_left.
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = 5


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def formula(name, shape):
    """Deterministic values for parameter `name`: a sine whose frequency and phase come from the name's FNV-1a hash."""
    n = int(np.prod(shape))
    h = fnv1a(name)
    a = 0.5 + (h % 1000) / 1000.0
    b = ((h >> 10) % 628) / 100.0
    s = np.sin(a * np.arange(1, n + 1, dtype=np.float64) + b)
    leaf = name.rsplit(".", 1)[1]
    if leaf == "running_mean":
        v = 0.1 * s
    elif leaf == "running_var":
        v = 1.0 + 0.5 * s * s
    elif leaf == "bias":
        v = 0.1 * s
    elif len(shape) == 1:  # batch norm weight
        v = 1.0 + 0.2 * s
    else:  # convolution: He-like amplitude over the fan-in
        fan_in = int(np.prod(shape[1:]))
        v = s * math.sqrt(2.0 / fan_in) * (1.0 if not name.startswith("classifier") else 0.5)
    return v.astype(np.float32).reshape(shape)


class FixedBatchNorm(nn.BatchNorm2d):
    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=False, eps=self.eps)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = FixedBatchNorm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = FixedBatchNorm(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), FixedBatchNorm(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = FixedBatchNorm(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 1))

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.classifier = nn.Conv2d(512, CLASSES, 1, bias=False)

    def forward(self, x):
        x = self.backbone(x)
        x = torch.mean(x, dim=(2, 3), keepdim=True)
        return self.classifier(x).view(-1, CLASSES)


def batch():
    b, c, y, x = np.meshgrid(np.arange(4), np.arange(3), np.arange(64), np.arange(64), indexing="ij")
    images = (1.5 * np.sin(0.05 * x * (c + 1) + 0.07 * y + 0.9 * b)).astype(np.float32)
    labels = np.array([[1, 0, 0, 1, 0], [0, 1, 0, 0, 0], [0, 0, 1, 1, 1], [1, 0, 0, 0, 1]], dtype=np.float32)
    return torch.from_numpy(images), torch.from_numpy(labels)


def summary(t):
    v = t.detach().reshape(-1).double().numpy()
    n = v.size
    picks = [v[min(n - 1, (k * n) // 7)] for k in range(7)] + [v[n - 1]]
    return np.array([v.sum(), np.abs(v).sum()] + picks, dtype=np.float64)


def train_step_fixture():
    torch.set_num_threads(1)
    net = Net()
    with torch.no_grad():
        for name, t in list(net.state_dict().items()):
            if t.dtype == torch.float32:
                t.copy_(torch.from_numpy(formula(name, tuple(t.shape))))
    for p in list(net.backbone.conv1.parameters()) + list(net.backbone.bn1.parameters()):
        p.requires_grad = False
    backbone = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("classifier")]
    classifier = list(net.classifier.parameters())
    groups = [{"params": backbone, "lr": 0.1, "weight_decay": 1e-4}, {"params": classifier, "lr": 1.0, "weight_decay": 1e-4}]
    sgd = torch.optim.SGD(groups, 0.1, 1e-4)  # positional: lr, momentum (the official PolyOptimizer's quirk)
    base = [g["lr"] for g in sgd.param_groups]
    images, labels = batch()
    out = {}
    losses = []
    max_step = 10
    for t in range(max_step):
        for g, lr in zip(sgd.param_groups, base):
            g["lr"] = lr * (1 - t / max_step) ** 0.9
        sgd.zero_grad()
        loss = F.multilabel_soft_margin_loss(net(images), labels)
        loss.backward()
        losses.append(loss.item())
        if t == 0:
            for n, p in net.named_parameters():
                if p.requires_grad:
                    out["grad1/" + n] = summary(p.grad)
        sgd.step()
        if t in (0, max_step - 1):
            for n, p in net.named_parameters():
                if p.requires_grad:
                    out[("after1/" if t == 0 else "after10/") + n] = summary(p)
    out["loss"] = np.array(losses, dtype=np.float64)
    np.savez(os.path.join(HERE, "train_step.npz"), **out)


def pil_resize_long(img, target):
    h, w = img.shape[:2]
    scale = target / h if w < h else target / w
    size = (int(np.round(h * scale)), int(np.round(w * scale)))
    if size == (h, w):
        return img
    return np.asarray(Image.fromarray(img).resize(size[::-1], Image.BICUBIC))


def augment(img, target, flip, cont_top, img_top, cont_left, img_left, crop=32):
    x = pil_resize_long(img, target)
    x = x.astype(np.float32) / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], dtype=np.float32)) / np.array([0.229, 0.224, 0.225], dtype=np.float32)
    if flip:
        x = np.fliplr(x)
    h, w = x.shape[:2]
    ch, cw = min(crop, h), min(crop, w)
    container = np.zeros((crop, crop, 3), dtype=np.float32)
    container[cont_top:cont_top + ch, cont_left:cont_left + cw] = x[img_top:img_top + ch, img_left:img_left + cw]
    return np.ascontiguousarray(container.transpose(2, 0, 1))


def augment_fixtures():
    img = np.asarray(Image.open(os.path.join(HERE, "..", "Imaging", "src_rgb_37x29.png")).convert("RGB"))
    draws = [
        (48, 1, 0, 3, 0, 7),   # enlarged to 48x38: a window in both axes, flipped
        (20, 0, 9, 0, 5, 0),   # shrunk to 20x16: placed inside the zero container
        (37, 1, 1, 0, 0, 2),   # unchanged 37x29: window across, placed down
        (41, 0, 0, 0, 0, 9),   # 41x32 (29*41/37 = 32.14 -> 32): exact fit down, window across
    ]
    with open(os.path.join(HERE, "augment.tsv"), "w") as f:
        for i, d in enumerate(draws):
            np.save(os.path.join(HERE, f"augment_{i}.npy"), augment(img, *d))
            f.write("\t".join(str(v) for v in d) + "\n")


if __name__ == "__main__":
    train_step_fixture()
    augment_fixtures()
