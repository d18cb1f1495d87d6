"""Generates the numpy fixtures read by tests/ReCam.Tests/IO/*Tests.cs.

Run with /usr/bin/python3 (numpy 1.24) from this folder: /usr/bin/python3 make_fixtures.py
Values are k*100 + y*10 + x divided by 128 (exact in float32), so the tests can recompute them.
"""
import numpy as np

H, W = 5, 9
keys = np.array([3, 14], dtype=np.int64)
k, y, x = np.meshgrid(np.arange(2), np.arange(H), np.arange(W), indexing="ij")
high_res = ((k * 100 + y * 10 + x) / 128).astype(np.float32)
h4, w4 = -(-H // 4), -(-W // 4)
k, y, x = np.meshgrid(np.arange(2), np.arange(h4), np.arange(w4), indexing="ij")
cam = (-(k * 100 + y * 10 + x) / 128).astype(np.float32)

np.savez("maps_savez.npz", keys=keys, cam=cam, high_res=high_res)
np.savez_compressed("maps_savez_compressed.npz", keys=keys, cam=cam, high_res=high_res)

with open("int32_v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.arange(12, dtype=np.int32).reshape(3, 4), version=(2, 0))
np.save("uint8.npy", np.array([0, 1, 254, 255], dtype=np.uint8))
np.save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
