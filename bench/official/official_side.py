#!/usr/bin/env python3
"""The official ReCAM code's per-step work on CPU, for the side-by-side timing of bench/compare-official.sh.

Written for this comparison from the official code's behaviour (networks, losses, optimiser, data pipeline),
against Debian's python3-torch; it is not part of the shipped library. Random weights: timing does not
depend on them. One work per process, so that the process's peak resident memory is that work's.

What each work does, as the official scripts do it:
  train-cam    step/train_cam.py: DataLoader (shuffle, drop_last, num_workers = cpu_count // 2) over the
               classification dataset (random long-side resize, normalise, flip, random crop), the Net
               forward (stage1..4, mean pooling, 1x1 classifier), multilabel soft-margin loss, backward,
               PolyOptimizer (SGD with weight decay passed as momentum, poly rate set before each step).
  train-recam  step/train_recam.py: Net_CAM_Feature (normalised CAMs times features, materialised as
               B x C x D x h x w), Class_Predictor (cross-entropy over the present classes), BCE + SCE.
  make-cam     step/make_cam.py: the multi-scale dataset (PIL bicubic per scale, image stacked with its
               flip), the CAM forward per scale, bilinear fusion at stride 4 and at 16-rounded full size,
               normalisation by the maximum, np.save of the dict.

Prints one line: RESULT <work> <backbone> <median seconds per step or image> <peak MiB> <timed count>
(--work peak prints PEAK <shape> fp32 <GFLOP/s> lines instead: the framework's matmul and convolution speed.)
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


class FixedBatchNorm(nn.BatchNorm2d):
    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=False, eps=self.eps)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = FixedBatchNorm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = FixedBatchNorm(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = FixedBatchNorm(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = FixedBatchNorm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = FixedBatchNorm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class ResNet(nn.Module):
    """net/resnet50.py's ResNet with strides (2, 2, 2, 1): output stride 16, layer4 undilated."""

    def __init__(self, block, layers, strides=(2, 2, 2, 1)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=strides[0], padding=3, bias=False)
        self.bn1 = FixedBatchNorm(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], strides[1])
        self.layer3 = self._make_layer(block, 256, layers[2], strides[2])
        self.layer4 = self._make_layer(block, 512, layers[3], strides[3])

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                                       FixedBatchNorm(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)


BACKBONES = {
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet18-imagenet": (BasicBlock, [2, 2, 2, 3]),  # the shape of our bundled ResNet-18
}


class Net(nn.Module):
    """net/resnet50_cam.py's Net (training), with CAM (extraction) and Net_CAM_Feature (ReCAM training) forwards."""

    def __init__(self, backbone, n_classes):
        super().__init__()
        block, layers = BACKBONES[backbone]
        r = ResNet(block, layers)
        self.stage1 = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1)
        self.stage2, self.stage3, self.stage4 = r.layer2, r.layer3, r.layer4
        self.classifier = nn.Conv2d(512 * block.expansion, n_classes, 1, bias=False)
        self.n_classes = n_classes
        for p in list(r.conv1.parameters()) + list(r.bn1.parameters()):
            p.requires_grad = False
        self.backbone = nn.ModuleList([self.stage1, self.stage2, self.stage3, self.stage4])

    def features(self, x):
        return self.stage4(self.stage3(self.stage2(self.stage1(x))))

    def forward(self, x):
        x = self.features(x)
        x = torch.mean(x.view(x.size(0), x.size(1), -1), -1).view(x.size(0), x.size(1), 1, 1)
        return self.classifier(x).view(-1, self.n_classes)

    def forward_cam_feature(self, x):
        feature = self.features(x)
        x = torch.mean(feature.view(feature.size(0), feature.size(1), -1), -1).view(feature.size(0), feature.size(1), 1, 1)
        x = self.classifier(x).view(-1, self.n_classes)
        cams = F.relu(F.conv2d(feature, self.classifier.weight))
        cams = cams / (F.adaptive_max_pool2d(cams, (1, 1)) + 1e-5)
        cams_feature = cams.unsqueeze(2) * feature.unsqueeze(1)
        cams_feature = torch.mean(cams_feature.view(cams_feature.size(0), cams_feature.size(1), cams_feature.size(2), -1), -1)
        return x, cams_feature, cams

    def forward_cam(self, x, weight):
        x = F.relu(F.conv2d(self.features(x), weight))
        return x[0] + x[1].flip(-1)

    def trainable_parameters(self):
        return [p for p in self.backbone.parameters() if p.requires_grad], list(self.classifier.parameters())


class ClassPredictor(nn.Module):
    """net/resnet50_cam.py's Class_Predictor: W2 and the softmax cross-entropy over each image's present classes."""

    def __init__(self, n_classes, channels):
        super().__init__()
        self.num_classes = n_classes
        self.classifier = nn.Conv2d(channels, n_classes, 1, bias=False)

    def forward(self, x, label):
        batch_size = x.shape[0]
        x = x.reshape(batch_size, self.num_classes, -1)
        mask = label > 0
        feature_list = [x[i][mask[i]] for i in range(batch_size)]
        prediction = [self.classifier(y.unsqueeze(-1).unsqueeze(-1)).squeeze(-1).squeeze(-1) for y in feature_list]
        labels = [torch.nonzero(label[i]).squeeze(1) for i in range(label.shape[0])]
        loss = 0
        for logit, target in zip(prediction, labels):
            if target.shape[0] == 0:
                continue
            loss = loss + F.cross_entropy(logit, target)
        return loss / batch_size


class PolyOptimizer(torch.optim.SGD):
    """misc/torchutils.py's PolyOptimizer: SGD(params, lr, weight_decay) positionally, so momentum = weight decay."""

    def __init__(self, params, lr, weight_decay, max_step, momentum=0.9):
        super().__init__(params, lr, weight_decay)
        self.global_step, self.max_step, self.momentum = 0, max_step, momentum
        self.__initial_lr = [group['lr'] for group in self.param_groups]

    def step(self, closure=None):
        if self.global_step < self.max_step:
            lr_mult = (1 - self.global_step / self.max_step) ** self.momentum
            for i in range(len(self.param_groups)):
                self.param_groups[i]['lr'] = self.__initial_lr[i] * lr_mult
        super().step(closure)
        self.global_step += 1


def read_dataset(voc):
    with open(os.path.join(voc, "classes.txt")) as f:
        classes = [line.strip() for line in f if line.strip()]
    with open(os.path.join(voc, "ImageSets", "Segmentation", "train.txt")) as f:
        ids = [line.strip() for line in f if line.strip()]
    labels = {}
    for i in ids:
        y = np.zeros(len(classes), np.float32)
        for name in ElementTree.parse(os.path.join(voc, "Annotations", i + ".xml")).getroot().iter("name"):
            y[classes.index(name.text.strip())] = 1
        labels[i] = y
    return classes, ids, labels


def load_image(voc, image_id):
    return np.asarray(Image.open(os.path.join(voc, "JPEGImages", image_id + ".jpg")).convert("RGB"))


def pil_resize(img, size):
    return np.asarray(Image.fromarray(img).resize(size[::-1], Image.BICUBIC))


def normalize(img):
    return (np.asarray(img, np.float32) / 255.0 - MEAN) / STD


class ClassificationDataset(torch.utils.data.Dataset):
    """voc12/dataloader.py's VOC12ClassificationDataset at crop `crop` (long side range scaled from 320-640 at 512)."""

    def __init__(self, voc, ids, labels, crop):
        self.voc, self.ids, self.labels, self.crop = voc, ids, labels, crop
        self.long_min, self.long_max = round(crop * 0.625), round(crop * 1.25)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, idx):
        img = load_image(self.voc, self.ids[idx])
        target = np.random.randint(self.long_min, self.long_max + 1)
        h, w = img.shape[:2]
        scale = target / h if w < h else target / w
        img = pil_resize(img, (int(np.round(h * scale)), int(np.round(w * scale))))
        img = normalize(img)
        if np.random.rand() < 0.5:
            img = np.fliplr(img)
        h, w = img.shape[:2]
        box = []
        for size in (h, w):
            space = size - self.crop
            if space > 0:
                box += [0, np.random.randint(space + 1)]
            else:
                box += [np.random.randint(-space + 1), 0]
        container = np.zeros((self.crop, self.crop, 3), np.float32)
        ch, cw = min(self.crop, h), min(self.crop, w)
        container[box[0]:box[0] + ch, box[2]:box[2] + cw] = img[box[1]:box[1] + ch, box[3]:box[3] + cw]
        return {"img": torch.from_numpy(container.transpose(2, 0, 1).copy()), "label": torch.from_numpy(self.labels[self.ids[idx]])}


class MultiScaleDataset(torch.utils.data.Dataset):
    """voc12/dataloader.py's VOC12ClassificationDatasetMSF: per scale, the rescaled image stacked with its flip."""

    def __init__(self, voc, ids, labels, scales=(1.0, 0.5, 1.5, 2.0)):
        self.voc, self.ids, self.labels, self.scales = voc, ids, labels, scales

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, idx):
        img = load_image(self.voc, self.ids[idx])
        h, w = img.shape[:2]
        out = []
        for s in self.scales:
            s_img = img if s == 1.0 else pil_resize(img, (int(np.round(h * s)), int(np.round(w * s))))
            s_img = normalize(s_img).transpose(2, 0, 1)
            out.append(np.stack([s_img, np.flip(s_img, -1)], axis=0))
        return {"name": self.ids[idx], "img": out, "size": (h, w), "label": torch.from_numpy(self.labels[self.ids[idx]])}


def train(args, recam):
    classes, ids, labels = read_dataset(args.voc)
    model = Net(args.backbone, len(classes))
    loader = torch.utils.data.DataLoader(ClassificationDataset(args.voc, ids, labels, args.crop), batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers, pin_memory=True, drop_last=True)
    max_step = len(ids) // args.batch
    params = model.trainable_parameters()
    if recam:
        predictor = ClassPredictor(len(classes), model.classifier.weight.shape[1])
        optimizer = PolyOptimizer([{'params': params[0], 'lr': 5e-5, 'weight_decay': 1e-4},
                                   {'params': params[1], 'lr': 5e-5, 'weight_decay': 1e-4},
                                   {'params': predictor.parameters(), 'lr': 5e-4, 'weight_decay': 1e-4}], lr=5e-4, weight_decay=1e-4, max_step=max_step)
    else:
        optimizer = PolyOptimizer([{'params': params[0], 'lr': 0.01, 'weight_decay': 1e-4},
                                   {'params': params[1], 'lr': 0.1, 'weight_decay': 1e-4}], lr=0.01, weight_decay=1e-4, max_step=max_step)
    model.train()
    times, last = [], time.perf_counter()
    for step, pack in enumerate(loader):
        if step > args.steps:
            break
        img, label = pack['img'], pack['label']
        if recam:
            x, cam_feature, _ = model.forward_cam_feature(img)
            loss = F.multilabel_soft_margin_loss(x, label) + 1.0 * predictor(cam_feature, label)
        else:
            loss = F.multilabel_soft_margin_loss(model(img), label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        now = time.perf_counter()
        if step > 0:  # the first step warms up
            times.append(now - last)
        last = now
    return times


def make_cam(args):
    classes, ids, labels = read_dataset(args.voc)
    ids = ids[:args.images + 1]
    model = Net(args.backbone, len(classes))
    model.eval()
    loader = torch.utils.data.DataLoader(MultiScaleDataset(args.voc, ids, labels), shuffle=False, num_workers=args.workers, pin_memory=False)
    out_dir = tempfile.mkdtemp(prefix="official-cams-")
    times, last = [], time.perf_counter()
    with torch.no_grad():
        for step, pack in enumerate(loader):
            name, label, size = pack['name'][0], pack['label'][0], pack['size']
            strided_size = (-(-int(size[0]) // 4), -(-int(size[1]) // 4))
            strided_up_size = (-(-int(size[0]) // 16) * 16, -(-int(size[1]) // 16) * 16)
            outputs = [model.forward_cam(img[0], model.classifier.weight) for img in pack['img']]
            strided_cam = torch.sum(torch.stack([F.interpolate(torch.unsqueeze(o, 0), strided_size, mode='bilinear', align_corners=False)[0]
                                                 for o in outputs]), 0)
            highres_cam = [F.interpolate(torch.unsqueeze(o, 1), strided_up_size, mode='bilinear', align_corners=False) for o in outputs]
            highres_cam = torch.sum(torch.stack(highres_cam, 0), 0)[:, 0, :size[0], :size[1]]
            valid_cat = torch.nonzero(label)[:, 0]
            strided_cam = strided_cam[valid_cat]
            strided_cam /= F.adaptive_max_pool2d(strided_cam, (1, 1)) + 1e-5
            highres_cam = highres_cam[valid_cat]
            highres_cam /= F.adaptive_max_pool2d(highres_cam, (1, 1)) + 1e-5
            np.save(os.path.join(out_dir, name + '.npy'), {"keys": valid_cat, "cam": strided_cam.cpu(), "high_res": highres_cam.cpu().numpy()})
            now = time.perf_counter()
            if step > 0:
                times.append(now - last)
            last = now
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    os.rmdir(out_dir)
    return times


def peak(args):
    """The same yardstick as `recam bench --peak`: fp32 matmul and 3x3 convolutions, GFLOP/s, median of repetitions."""
    shapes = [("conv3x3_64ch_80px", 2, 64, 80), ("conv3x3_128ch_40px", 2, 128, 40), ("conv3x3_256ch_20px", 2, 256, 20),
              ("conv3x3_512ch_20px", 2, 512, 20)]

    def median_seconds(work):
        work()
        times = []
        for _ in range(args.repetitions):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    with torch.no_grad():
        n = 2048
        a, b = torch.randn(n, n), torch.randn(n, n)
        print(f"PEAK matmul_2048 fp32 {2.0 * n ** 3 / median_seconds(lambda: torch.matmul(a, b)) / 1e9:.1f}")
        for name, batch, channels, side in shapes:
            x, w = torch.randn(batch, channels, side, side), torch.randn(channels, channels, 3, 3)
            flops = 2.0 * batch * channels * channels * 9 * side * side
            print(f"PEAK {name} fp32 {flops / median_seconds(lambda: F.conv2d(x, w, padding=1)) / 1e9:.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voc")
    p.add_argument("--work", required=True, choices=["train-cam", "train-recam", "make-cam", "peak"])
    p.add_argument("--repetitions", type=int, default=10, help="peak: timed repetitions per shape")
    p.add_argument("--backbone", default="resnet18-imagenet", choices=sorted(BACKBONES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=160)
    p.add_argument("--steps", type=int, default=5, help="timed training steps after one warm-up step")
    p.add_argument("--images", type=int, default=20, help="timed images after one warm-up image")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2), help="DataLoader workers (official: cpu_count // 2)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)
    if args.work == "peak":
        peak(args)
        return
    if not args.voc:
        p.error("--voc is required for " + args.work)
    times = make_cam(args) if args.work == "make-cam" else train(args, recam=args.work == "train-recam")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RESULT {args.work} {args.backbone} {statistics.median(times):.4f} {peak_mib:.0f} {len(times)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
