# Regenerates numpy_golden.txt: the exact bytes numpy.save writes for a set
# of arrays chosen to cover every dtype icnnlab supports and every padding
# length numpy can choose (header lengths in all 64 residues).
#
#   /usr/bin/python3 sdk/tensor/testdata/gen_numpy_golden.py > sdk/tensor/testdata/numpy_golden.txt
#
# Line format: descr <TAB> shape (comma separated, empty for a scalar)
# <TAB> hex of the whole .npy file.
import io
import numpy as np

def emit(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    shape = ",".join(str(d) for d in arr.shape)
    print(f"{arr.dtype.str}\t{shape}\t{buf.getvalue().hex()}")

print(f"# numpy {np.__version__}")
emit(np.array([[-1, -0.5, 0], [0.5, 1, 1.5]], dtype="<f4"))
emit(np.array([np.inf, -np.inf, np.nan, -0.0, 1e-45], dtype="<f4"))
emit(np.array([1.5, -2.25, 1e300, 5e-324], dtype="<f8"))
emit(np.array(-7, dtype="<i4"))
emit(np.array([-(2**31), 2**31 - 1, 0], dtype="<i4"))
emit(np.array([[[1], [2]], [[-3], [2**40]]], dtype="<i8"))
emit(np.array([-(2**63), 2**63 - 1], dtype="<i8"))
emit(np.arange(256, dtype="u1").reshape(16, 16))
emit(np.zeros((0, 4), dtype="u1"))
emit(np.array([True, False, True]))
emit(np.array(True))
emit(np.zeros((3, 0, 2), dtype="<f8"))
emit(np.zeros((), dtype="<f4"))
# Headers of every length modulo 64: zero-size arrays with k extra unit
# dimensions (3 header bytes each) and a last dimension of 1..10 digits.
for k in range(0, 26):
    for digits in range(1, 11):
        last = 10 ** (digits - 1)
        emit(np.zeros((0,) + (1,) * k + (last,), dtype="<f4"))
