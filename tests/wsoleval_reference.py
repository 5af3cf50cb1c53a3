"""An independent re-statement of clovaai/wsolevaluation's networks and losses, for equivalence tests.

Written from the reference's description (``wsol/vgg.py``, ``wsol/resnet.py``,
``wsol/inception.py``, ``wsol/method/*.py``; MIT licence), with its module names so that
its ``state_dict`` looks like a checkpoint of wsolevaluation's ``main.py``. Only
InceptionA / InceptionC / BasicConv2d come from torchvision (the reference copies them
unchanged). Every network's ``forward(x, labels=None, return_cam=False)`` returns the
reference's output dict, or its CAMs of ``labels``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.inception import BasicConv2d, InceptionA, InceptionC

K = 5  # classes


def normalize(x):
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    low, high = flat.min(-1, keepdim=True)[0], flat.max(-1, keepdim=True)[0]
    return ((flat - low) / (high - low)).view_as(x)


class ADL(nn.Module):
    def __init__(self, rate, gamma):
        super().__init__()
        self.rate, self.gamma = rate, gamma

    def forward(self, x):
        if not self.training:
            return x
        att = x.mean(1, keepdim=True)
        drop = (att < att.flatten(1).max(1)[0].view(-1, 1, 1, 1) * self.gamma).float()
        b = (torch.rand([]) + self.rate).floor()
        return x * ((1 - b) * torch.sigmoid(att) + b * drop)


def cam_from_fc(feat, weight, labels):
    return (weight[labels][:, :, None, None] * feat).mean(1)


def acol_forward(self, feature, labels, return_cam):
    map_a = self.classifier_A(feature)
    logits = map_a.mean((2, 3))
    labels = logits.argmax(1) if labels is None else labels
    att = normalize(map_a[range(len(labels)), labels].unsqueeze(1))
    erased = feature * (att < self.threshold).float()
    map_b = self.classifier_B(erased)
    if return_cam:
        return torch.max(normalize(map_a), normalize(map_b))[range(len(labels)), labels]
    return {"logits": logits, "logit_b": map_b.mean((2, 3))}


def acol_classifier(c_in):
    return nn.Sequential(
        nn.Conv2d(c_in, 1024, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(1024, 1024, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(1024, K, 1),
    )


def spg_outputs(feat_map, labels, b1, b2, c, return_cam):
    logits = feat_map.mean((2, 3))
    labels = logits.argmax(1) if labels is None else labels
    if return_cam:
        return feat_map[range(len(labels)), labels]
    up = nn.Upsample(size=(224, 224), mode="bilinear")
    attention = normalize(up(feat_map.detach())[range(len(labels)), labels].unsqueeze(1))
    fused = (torch.sigmoid(up(b1.detach())) + torch.sigmoid(up(b2.detach()))) / 2
    return {
        "attention": attention,
        "fused_attention": fused,
        "logits": logits,
        "logits_b1": b1,
        "logits_b2": b2,
        "logits_c": c,
    }


def spg_branches(module, b_in1, b_in2, width, c_in):
    module.SPG_B_1a = nn.Sequential(nn.Conv2d(b_in1, width, 3, padding=1), nn.ReLU(True))
    module.SPG_B_2a = nn.Sequential(nn.Conv2d(b_in2, width, 3, padding=1), nn.ReLU(True))
    module.SPG_B_shared = nn.Sequential(
        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(True), nn.Conv2d(width, 1, 1)
    )
    module.SPG_C = nn.Sequential(nn.Conv2d(c_in, 512, 3, padding=1), nn.ReLU(True), nn.Conv2d(512, 1, 1))


# -- VGG16 ---------------------------------------------------------------------------------

C3 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]
VGG = {
    ("cam", False): [*C3, 512, 512, 512, "M", 512, 512, 512],
    ("cam", True): [*C3, 512, 512, 512, 512, 512, 512],
    ("acol", False): [
        64,
        64,
        "M1",
        128,
        128,
        "M1",
        256,
        256,
        256,
        "M1",
        512,
        512,
        512,
        "M1",
        512,
        512,
        512,
        "M2",
    ],
    ("acol", True): [
        64,
        64,
        "M1",
        128,
        128,
        "M1",
        256,
        256,
        256,
        "M1",
        512,
        512,
        512,
        "M2",
        512,
        512,
        512,
        "M2",
    ],
    ("adl", False): [*C3, "A", 512, 512, 512, "A", "M", 512, 512, 512, "A"],
    ("adl", True): [*C3, "A", 512, 512, 512, "A", 512, 512, 512, "A"],
    ("spg", False): C3,
    ("spg", True): C3,
}


def vgg_features(cfg, adl):
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif v == "M1":
            layers.append(nn.MaxPool2d(3, 2, 1))
        elif v == "M2":
            layers.append(nn.MaxPool2d(3, 1, 1))
        elif v == "A":
            layers.append(ADL(*adl))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(True)]
            c = v
    return nn.Sequential(*layers)


def convs(c_in, n):
    layers = []
    for i in range(n):
        layers += [nn.Conv2d(c_in if i == 0 else 512, 512, 3, padding=1), nn.ReLU(True)]
    return nn.Sequential(*layers)


class Vgg(nn.Module):
    def __init__(self, kind, large, adl=(0.75, 0.9), threshold=0.7):
        super().__init__()
        self.kind, self.large, self.threshold = kind, large, threshold
        self.features = vgg_features(VGG[(kind, large)], adl)
        if kind in ("cam", "adl"):
            self.conv6 = nn.Conv2d(512, 1024, 3, padding=1)
            self.fc = nn.Linear(1024, K)
        elif kind == "acol":
            self.classifier_A, self.classifier_B = acol_classifier(512), acol_classifier(512)
        else:
            self.SPG_A_1, self.SPG_A_2, self.SPG_A_3 = convs(256, 3), convs(512, 3), convs(512, 2)
            self.SPG_A_4 = nn.Conv2d(512, K, 1)
            spg_branches(self, 512, 512, 512, 512)

    def forward(self, x, labels=None, return_cam=False):
        x = self.features(x)
        if self.kind in ("cam", "adl"):
            x = F.relu(self.conv6(x))
            logits = self.fc(x.mean((2, 3)))
            return cam_from_fc(x, self.fc.weight, labels) if return_cam else {"logits": logits}
        if self.kind == "acol":
            return acol_forward(self, F.avg_pool2d(x, 3, 1, 1), labels, return_cam)
        x = self.SPG_A_1(x)
        if not self.large:
            x = F.max_pool2d(x, 3, 2, 1)
        b1 = self.SPG_B_shared(self.SPG_B_1a(x))
        x = self.SPG_A_2(x)
        b2 = self.SPG_B_shared(self.SPG_B_2a(x))
        x = self.SPG_A_3(x)
        return spg_outputs(self.SPG_A_4(x), labels, b1, b2, self.SPG_C(x), return_cam)


# -- ResNet50 ------------------------------------------------------------------------------


class Bottleneck(nn.Module):
    def __init__(self, c_in, planes, stride=1):
        super().__init__()
        out = planes * 4
        self.conv1, self.bn1 = nn.Conv2d(c_in, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or c_in != out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


def blocks(c_in, planes, n, stride):
    return [Bottleneck(c_in, planes, stride)] + [Bottleneck(planes * 4, planes) for _ in range(n - 1)]


class ResNet(nn.Module):
    def __init__(self, kind, large, adl=(0.75, 0.9), threshold=0.7):
        super().__init__()
        self.kind, self.threshold = kind, threshold
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(*blocks(64, 64, 3, 1))
        self.layer2 = nn.Sequential(*blocks(256, 128, 4, 2))
        l3, l4 = blocks(512, 256, 6, 1 if large else 2), blocks(1024, 512, 3, 1)
        if kind == "spg":
            self.SPG_A1, self.SPG_A2 = nn.Sequential(l3[0]), nn.Sequential(*l3[1:])
        elif kind == "adl":
            self.layer3 = nn.Sequential(l3[0], ADL(*adl), *l3[1:])
        else:
            self.layer3 = nn.Sequential(*l3)
        self.layer4 = (
            nn.Sequential(l4[0], ADL(*adl), *l4[1:], ADL(*adl)) if kind == "adl" else nn.Sequential(*l4)
        )
        if kind in ("cam", "adl"):
            self.fc = nn.Linear(2048, K)
        elif kind == "acol":
            self.classifier_A, self.classifier_B = acol_classifier(2048), acol_classifier(2048)
        else:
            self.SPG_A4 = nn.Conv2d(2048, K, 1)
            spg_branches(self, 1024, 1024, 1024, 2048)

    def forward(self, x, labels=None, return_cam=False):
        x = self.layer2(self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x))))))
        if self.kind == "spg":
            x = self.SPG_A1(x)
            b1 = self.SPG_B_shared(self.SPG_B_1a(x))
            x = self.SPG_A2(x)
            b2 = self.SPG_B_shared(self.SPG_B_2a(x))
            x = self.layer4(x)
            return spg_outputs(self.SPG_A4(x), labels, b1, b2, self.SPG_C(x), return_cam)
        x = self.layer4(self.layer3(x))
        if self.kind == "acol":
            return acol_forward(self, x, labels, return_cam)
        logits = self.fc(x.mean((2, 3)))
        return cam_from_fc(x, self.fc.weight, labels) if return_cam else {"logits": logits}


# -- InceptionV3 ---------------------------------------------------------------------------


class InceptionB(nn.Module):
    def __init__(self, c_in, kernel_size=3, stride=2, padding=0):
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, kernel_size=kernel_size, stride=stride, padding=padding)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=stride, padding=padding)
        self.stride = stride

    def forward(self, x):
        d = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), d, F.max_pool2d(x, 3, self.stride, 1)], 1)


class Inception(nn.Module):
    def __init__(self, kind, large, adl=(0.75, 0.9), threshold=0.7):
        super().__init__()
        self.kind, self.large, self.threshold = kind, large, threshold
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2, padding=1)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c = InceptionA(192, pool_features=32), InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288, kernel_size=3, stride=1, padding=1)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c, self.Mixed_6d = InceptionC(768, channels_7x7=160), InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        if kind == "acol":
            self.classifier_A, self.classifier_B = acol_classifier(768), acol_classifier(768)
            return
        self.SPG_A3_1b = nn.Sequential(nn.Conv2d(768, 1024, 3, padding=1), nn.ReLU(True))
        self.SPG_A3_2b = nn.Sequential(nn.Conv2d(1024, 1024, 3, padding=1), nn.ReLU(True))
        self.SPG_A4 = nn.Conv2d(1024, K, 1)
        if kind == "spg":
            spg_branches(self, 288, 768, 512, 1024)
        if kind == "adl":
            self.ADL_5d, self.ADL_6e, self.ADL_A3_2b = ADL(*adl), ADL(*adl), ADL(*adl)

    def forward(self, x, labels=None, return_cam=False):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        if self.kind == "adl":
            x = self.ADL_5d(x)
        if not self.large:
            x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        b1 = self.SPG_B_shared(self.SPG_B_1a(x)) if self.kind == "spg" else None
        x = self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(self.Mixed_6a(x))))
        b2 = self.SPG_B_shared(self.SPG_B_2a(x)) if self.kind == "spg" else None
        feat = self.Mixed_6e(x)
        if self.kind == "acol":
            return acol_forward(self, feat, labels, return_cam)
        if self.kind == "adl":
            x = self.ADL_A3_2b(self.SPG_A3_2b(self.SPG_A3_1b(self.ADL_6e(feat))))
        else:
            x = F.dropout(self.SPG_A3_1b(F.dropout(feat, 0.5, self.training)), 0.5, self.training)
            x = F.dropout(self.SPG_A3_2b(x), 0.5, self.training)
        feat_map = self.SPG_A4(x)
        if self.kind == "spg":
            return spg_outputs(feat_map, labels, b1, b2, self.SPG_C(x), return_cam)
        labels_ = feat_map.mean((2, 3)).argmax(1) if labels is None else labels
        return feat_map[range(len(labels_)), labels_] if return_cam else {"logits": feat_map.mean((2, 3))}


NETWORKS = {"vgg16": Vgg, "resnet50": ResNet, "inception_v3": Inception}


# -- losses --------------------------------------------------------------------------------


def spg_mask(attention, high, low):
    mask = attention.new_zeros((attention.size(0), 1, 224, 224)).fill_(255)
    for i in range(attention.size(0)):
        fg = attention[i] > high
        if fg.float().sum().item() < 30:
            fg = attention[i] > attention[i].max() * 0.7
        mask[i][fg] = 1.0
    mask[attention < low] = 0.0
    return mask


def spg_loss(out, target, thresholds=((0.7, 0.01), (0.5, 0.05), (0.7, 0.1))):
    up = nn.Upsample(size=(224, 224), mode="bilinear")

    def guided(logits, pre_mask, high, low):
        mask = spg_mask(pre_mask, high, low).view(-1, 1)
        keep = mask < 255
        return nn.BCEWithLogitsLoss()(up(logits).view(-1, 1)[keep], mask[keep])

    (h1, l1), (h2, l2), (h3, l3) = thresholds
    loss = F.cross_entropy(out["logits"], target)
    loss = loss + guided(out["logits_b2"], out["attention"], h1, l1)
    loss = loss + guided(out["logits_b1"], torch.sigmoid(up(out["logits_b2"])), h2, l2)
    return loss + guided(out["logits_c"], out["fused_attention"], h3, l3)


def acol_loss(out, target):
    return F.cross_entropy(out["logits"], target) + F.cross_entropy(out["logit_b"], target)
