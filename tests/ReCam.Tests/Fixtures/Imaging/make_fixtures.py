#!/usr/bin/python3
"""Reference fixtures for ReCam.Imaging tests (tests/ReCam.Tests/Imaging/).

RUN ONCE; the outputs are committed and the tests read them, never this script.
    /usr/bin/python3 make_fixtures.py        (from this folder; needs numpy 1.24 + Pillow 9.4)

What it writes (all tiny):
  src_rgb_37x29.png        deterministic RGB source (gradients, hard 0/255 edges, noise);
                           src_rgb_37x29.png.rgb.bin = its pixels
  bicubic_<W>x<H>.bin      Pillow 9.4 Image.resize((W,H), Image.BICUBIC) of the source, raw HWC RGB bytes
  nearest_rgb_<W>x<H>.bin  same with Image.NEAREST
  label_p8_48x40.png       palette ("P", 8-bit) label map with values 0..20 and 255 (VOC style)
  label_p8_48x40.bin       its raw indices (row-major bytes)
  nearest_label_<W>x<H>.bin  Pillow NEAREST resize of the label as mode "L" (what ReCAM's
                           pil_rescale(label, s, order=0) does on the uint8 array)
  label_p1/p2/p4_*.png     palette PNGs saved by Pillow with bits=1/2/4 (+ .bin raw indices)
  label_l8_*.png / .bin    8-bit greyscale label PNG (+ raw values)
  label_filters_p8_*.png   hand-written palette PNG whose rows use PNG filters 0..4 in turn (+ .bin)
  dec_*.png / dec_*.jpg    decoder inputs: palette (with tRNS), grey, grey+alpha, grey 16-bit,
                           RGB 16-bit (hand-written), RGBA (alpha 0 over coloured pixels), RGB JPEG,
                           grey JPEG; dec_*.rgb.bin = Pillow's convert("RGB") of each (for 16-bit
                           files: the high byte of each sample, since Pillow clips I;16 on convert)
  manifest.tsv             one line per reference: kind, source, width, height, file
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def save_bin(name, arr):
    with open(path(name), "wb") as f:
        f.write(np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png_raw(name, width, height, bit_depth, colour_type, rows, plte=None, filters=None):
    """Minimal PNG writer for cases Pillow cannot produce (chosen filters, 16-bit RGB)."""
    bpp = max(1, (bit_depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]) // 8)
    raw = bytearray()
    prev = bytes(len(rows[0]))
    for y, row in enumerate(rows):
        ft = 0 if filters is None else filters[y % len(filters)]
        out = bytearray(len(row))
        for i, v in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 0:
                pred = 0
            elif ft == 1:
                pred = a
            elif ft == 2:
                pred = b
            elif ft == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            out[i] = (v - pred) & 0xFF
        raw.append(ft)
        raw += out
        prev = bytes(row)
    data = b"\x89PNG\r\n\x1a\n"
    data += png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    if plte is not None:
        data += png_chunk(b"PLTE", bytes(plte))
    data += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    data += png_chunk(b"IEND", b"")
    with open(path(name), "wb") as f:
        f.write(data)


def voc_palette():
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def main():
    rng = np.random.RandomState(20240601)
    manifest = []

    # ---- RGB source and bicubic / nearest references ----
    h, w = 29, 37
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    img[..., 0] = xx * 255.0 / (w - 1)
    img[..., 1] = yy * 255.0 / (h - 1)
    img[..., 2] = ((xx // 3 + yy // 4) % 2) * 255.0          # hard edges: overshoot -> clipping
    img += rng.normal(0, 30, size=img.shape)
    img[10:14, :, :] = 255.0                                   # white band
    img[:, 20:22, :] = 0.0                                     # black band
    src = np.clip(np.round(img), 0, 255).astype(np.uint8)
    Image.fromarray(src, "RGB").save(path("src_rgb_37x29.png"))
    pil = Image.open(path("src_rgb_37x29.png")).convert("RGB")
    assert (np.asarray(pil) == src).all()

    sizes = [
        (18, 14),   # scale 0.5: round(18.5)=18, round(14.5)=14 (half-to-even)
        (11, 9),    # scale 0.3
        (23, 17),   # odd sizes
        (56, 44),   # scale 1.5: round(55.5)=56, round(43.5)=44
        (74, 58),   # scale 2.0
        (50, 10),   # non-uniform: up in x, down in y
        (20, 29),   # only width changes (Pillow skips the vertical pass)
        (37, 12),   # only height changes (Pillow skips the horizontal pass)
        (3, 2),     # extreme downscale (wide kernels clipped at both borders)
        (1, 1),
    ]
    for (tw, th) in sizes:
        out = np.asarray(pil.resize((tw, th), Image.BICUBIC))
        name = "bicubic_%dx%d.bin" % (tw, th)
        save_bin(name, out)
        manifest.append(("bicubic", "src_rgb_37x29.png", tw, th, name))
    for (tw, th) in [(18, 14), (56, 44), (23, 17), (9, 7)]:
        out = np.asarray(pil.resize((tw, th), Image.NEAREST))
        name = "nearest_rgb_%dx%d.bin" % (tw, th)
        save_bin(name, out)
        manifest.append(("nearest_rgb", "src_rgb_37x29.png", tw, th, name))

    # ---- label maps ----
    lh, lw = 40, 48
    lab = np.zeros((lh, lw), np.uint8)
    for _ in range(12):
        y0, x0 = rng.randint(0, lh - 4), rng.randint(0, lw - 4)
        lab[y0:y0 + rng.randint(3, 15), x0:x0 + rng.randint(3, 15)] = rng.randint(0, 21)
    noise = rng.rand(lh, lw) < 0.08
    lab[noise] = rng.randint(0, 21, size=noise.sum())
    lab[rng.rand(lh, lw) < 0.05] = 255                     # ignore pixels
    lab[0, 0], lab[0, 1], lab[lh - 1, lw - 1] = 20, 255, 0
    p = Image.frombytes("P", (lw, lh), lab.tobytes())
    p.putpalette(voc_palette())
    p.save(path("label_p8_48x40.png"))
    assert (np.asarray(Image.open(path("label_p8_48x40.png"))) == lab).all()
    save_bin("label_p8_48x40.bin", lab)
    manifest.append(("label", "label_p8_48x40.png", lw, lh, "label_p8_48x40.bin"))
    lab_l = Image.fromarray(lab, "L")
    for (tw, th) in [(12, 10), (96, 80), (23, 17), (7, 31)]:   # 0.25 as pil_rescale(label, 0.25, 0)
        out = np.asarray(lab_l.resize((tw, th), Image.NEAREST))
        name = "nearest_label_%dx%d.bin" % (tw, th)
        save_bin(name, out)
        manifest.append(("nearest_label", "label_p8_48x40.png", tw, th, name))

    # low bit-depth palettes saved by Pillow
    for bits in (1, 2, 4):
        n = 1 << bits
        small = rng.randint(0, n, size=(13, 11)).astype(np.uint8)
        im = Image.frombytes("P", (11, 13), small.tobytes())
        im.putpalette(voc_palette()[: 3 * n])
        name = "label_p%d_11x13" % bits
        im.save(path(name + ".png"), bits=bits)
        with open(path(name + ".png"), "rb") as f:
            head = f.read(33)
        assert head[24] == bits and head[25] == 3, (bits, head[24], head[25])
        assert (np.asarray(Image.open(path(name + ".png"))) == small).all()
        save_bin(name + ".bin", small)
        manifest.append(("label", name + ".png", 11, 13, name + ".bin"))

    grey = rng.randint(0, 256, size=(9, 14)).astype(np.uint8)
    Image.fromarray(grey, "L").save(path("label_l8_14x9.png"))
    save_bin("label_l8_14x9.bin", grey)
    manifest.append(("label", "label_l8_14x9.png", 14, 9, "label_l8_14x9.bin"))

    # all five PNG filters, 8-bit palette
    fl = rng.randint(0, 21, size=(10, 17)).astype(np.uint8)
    fl[rng.rand(10, 17) < 0.1] = 255
    write_png_raw("label_filters_p8_17x10.png", 17, 10, 8, 3, [bytes(r) for r in fl],
                  plte=voc_palette(), filters=[0, 1, 2, 3, 4])
    assert (np.asarray(Image.open(path("label_filters_p8_17x10.png"))) == fl).all()
    save_bin("label_filters_p8_17x10.bin", fl)
    manifest.append(("label", "label_filters_p8_17x10.png", 17, 10, "label_filters_p8_17x10.bin"))

    # ---- decoder inputs ----
    def ref(name, arr_rgb):
        save_bin(name + ".rgb.bin", arr_rgb)
        hh, ww = arr_rgb.shape[:2]
        manifest.append(("decode", name, ww, hh, name + ".rgb.bin"))

    pal_idx = rng.randint(0, 6, size=(6, 8)).astype(np.uint8)
    im = Image.frombytes("P", (8, 6), pal_idx.tobytes())
    im.putpalette([10, 20, 30, 200, 100, 50, 0, 255, 0, 255, 255, 255, 7, 8, 9, 128, 0, 128])
    im.save(path("dec_palette.png"), transparency=2)           # tRNS: index 2 fully transparent
    ref("dec_palette.png", np.asarray(Image.open(path("dec_palette.png")).convert("RGB")))

    g = rng.randint(0, 256, size=(6, 8)).astype(np.uint8)
    Image.fromarray(g, "L").save(path("dec_grey.png"))
    ref("dec_grey.png", np.asarray(Image.open(path("dec_grey.png")).convert("RGB")))

    la = np.stack([g, rng.randint(0, 256, size=(6, 8)).astype(np.uint8)], -1)
    la[0, 0, 1] = 0
    Image.fromarray(la, "LA").save(path("dec_grey_alpha.png"))
    ref("dec_grey_alpha.png", np.asarray(Image.open(path("dec_grey_alpha.png")).convert("RGB")))

    g16 = rng.randint(0, 65536, size=(6, 8)).astype(np.uint16)
    Image.frombytes("I;16", (8, 6), g16.astype("<u2").tobytes()).save(path("dec_grey16.png"))
    with open(path("dec_grey16.png"), "rb") as f:
        head = f.read(33)
    assert head[24] == 16 and head[25] == 0
    hb = (g16 >> 8).astype(np.uint8)
    ref("dec_grey16.png", np.stack([hb, hb, hb], -1))

    rgb16 = rng.randint(0, 65536, size=(5, 7, 3)).astype(np.uint16)
    write_png_raw("dec_rgb16.png", 7, 5, 16, 2, [r.astype(">u2").tobytes() for r in rgb16], filters=[0, 1, 2, 3, 4])
    got = np.asarray(Image.open(path("dec_rgb16.png")).convert("RGB"))
    assert (got == (rgb16 >> 8)).all()
    ref("dec_rgb16.png", got)

    rgba = rng.randint(0, 256, size=(6, 8, 4)).astype(np.uint8)
    rgba[0, :, 3] = 0                                              # transparent but coloured
    rgba[1, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path("dec_rgba.png"))
    ref("dec_rgba.png", np.asarray(Image.open(path("dec_rgba.png")).convert("RGB")))

    # JPEGs: smooth content so codec differences stay tiny
    jy, jx = np.mgrid[0:24, 0:32]
    jrgb = np.stack([jx * 8, jy * 10, 255 - jx * 4 - jy * 3], -1).clip(0, 255).astype(np.uint8)
    Image.fromarray(jrgb, "RGB").save(path("dec_rgb.jpg"), quality=90)
    ref("dec_rgb.jpg", np.asarray(Image.open(path("dec_rgb.jpg")).convert("RGB")))
    Image.fromarray((jx * 5 + jy * 3).astype(np.uint8), "L").save(path("dec_grey.jpg"), quality=90)
    ref("dec_grey.jpg", np.asarray(Image.open(path("dec_grey.jpg")).convert("RGB")))

    ref("src_rgb_37x29.png", src)                                  # plain 8-bit RGB PNG: lossless

    with open(path("manifest.tsv"), "w") as f:
        f.write("# kind\tsource\twidth\theight\tfile  (written by make_fixtures.py, Pillow %s)\n"
                % Image.__version__)
        for row in manifest:
            f.write("\t".join(str(v) for v in row) + "\n")


if __name__ == "__main__":
    main()
