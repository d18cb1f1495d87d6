"""Regenerates the Data test fixtures. Run with /usr/bin/python3 (numpy 1.24, Pillow 9.4):
    cd tests/ReCam.Tests/Fixtures/Data && /usr/bin/python3 make_fixtures.py

cls_labels_p2.npy  the layout of the official voc12/cls_labels.npy: np.save of a dict, pickle protocol 2
                   (Python 3 numpy writes the array bytes as _codecs.encode(<latin-1 text>, 'latin1')).
cls_labels_p3.npy  the same dict through np.save's default (protocol 3 in numpy 1.24: SHORT_BINBYTES).
cls_labels_p4.npy  protocol 4 (STACK_GLOBAL, SHORT_BINUNICODE, MEMOIZE, FRAME).
cls_labels_p2_large.npy.gz  protocol 2 with 1,234 entries, gzip'd: like the official 12,031-entry file it needs
                   LONG_BINPUT/LONG_BINGET (memo > 255) and several MARK ... SETITEMS batches (pickle batches 1,000).
                   Entry i: key 2007000000 + 7 i, classes {i % 20, (7 i + 3) % 20}.
palette_pillow.png a 7x5 palette PNG written by Pillow (VOC colour map, indices in palette_indices below).
"""
import gzip
import io
import pickle
import numpy as np
import numpy.lib.format as fmt
from PIL import Image

# id -> present class indices (VOC order); keys are int32 ids without the underscore, as in cls_labels.npy.
ENTRIES = {
    2007000032: [0, 14],
    2007000039: [19],
    2008000123: [3, 8, 11],
    2011003276: [14],
}


def labels():
    d = {}
    for key, present in ENTRIES.items():
        v = np.zeros(20, np.float32)
        v[present] = 1
        d[np.int32(key)] = v
    return d


def large_labels():
    d = {}
    for i in range(1234):
        v = np.zeros(20, np.float32)
        v[[i % 20, (7 * i + 3) % 20]] = 1
        d[np.int32(2007000000 + 7 * i)] = v
    return d


def npy_bytes(obj, protocol):
    arr = np.array(obj, dtype=object)
    f = io.BytesIO()
    fmt.write_array_header_1_0(f, fmt.header_data_from_array_1_0(arr))
    pickle.dump(arr, f, protocol=protocol)
    return f.getvalue()


def save_with_protocol(path, obj, protocol):
    with open(path, 'wb') as f:
        f.write(npy_bytes(obj, protocol))


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


# Must match PalettePngWriterTests.FixtureIndices.
palette_indices = np.array([(x * 7 + y * 13) % 23 for y in range(5) for x in range(7)], np.uint8).reshape(5, 7)
palette_indices[0, 0] = 255
palette_indices[4, 6] = 20

if __name__ == '__main__':
    d = labels()
    save_with_protocol('cls_labels_p2.npy', d, 2)
    np.save('cls_labels_p3.npy', d)
    save_with_protocol('cls_labels_p4.npy', d, 4)
    for name in ['cls_labels_p2.npy', 'cls_labels_p3.npy', 'cls_labels_p4.npy']:
        back = np.load(name, allow_pickle=True).item()
        assert {int(k) for k in back} == set(ENTRIES), name
    with gzip.GzipFile('cls_labels_p2_large.npy.gz', 'wb', mtime=0) as f:
        f.write(npy_bytes(large_labels(), 2))
    raw = gzip.open('cls_labels_p2_large.npy.gz').read()
    back = np.load(io.BytesIO(raw), allow_pickle=True).item()
    assert len(back) == 1234 and all((back[k] == v).all() for k, v in large_labels().items())
    img = Image.fromarray(palette_indices, mode='P')
    img.putpalette(voc_palette())
    img.save('palette_pillow.png')
    print('palette (255):', voc_palette()[765:768])
