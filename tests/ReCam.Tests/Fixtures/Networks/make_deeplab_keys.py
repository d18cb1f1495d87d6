"""Writes the state-dict keys and shapes of torchvision's deeplabv3_resnet50 (21 classes, no auxiliary head).

DeepLabNetworkTests checks that our DeepLab-v3 on a ResNet-50 has exactly these names and shapes, so a torchvision
checkpoint loads by name. Run with Debian's python3-torch and python3-torchvision (0.14): /usr/bin/python3 make_deeplab_keys.py
"""
import os

import torchvision

model = torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=False)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deeplabv3_resnet50_keys.tsv")
with open(out, "w") as f:
    for name, tensor in model.state_dict().items():
        f.write(f"{name}\t{','.join(str(d) for d in tensor.shape)}\n")
print(out, len(model.state_dict()))
