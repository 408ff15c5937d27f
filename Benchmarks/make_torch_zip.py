# Writes a torch-style zip checkpoint without torch: stored members, data.pkl pickled by CPython with
# globals spelled as torch spells them. Usage: make_torch_zip.py OUT.pt N_TENSORS ROWS COLS
import sys, types, pickle, collections, zipfile, struct
out, n, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch = types.ModuleType('torch'); utils = types.ModuleType('torch._utils')
def _rebuild_tensor_v2(*a): raise RuntimeError
_rebuild_tensor_v2.__module__ = 'torch._utils'; _rebuild_tensor_v2.__qualname__ = '_rebuild_tensor_v2'
utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class BFloat16Storage: pass
BFloat16Storage.__module__ = 'torch'
torch.BFloat16Storage = BFloat16Storage
sys.modules['torch'] = torch; sys.modules['torch._utils'] = utils
class Storage:
    def __init__(s, key, numel): s.key, s.numel = key, numel
class T:
    def __init__(s, storage, shape): s.storage, s.shape = storage, shape
    def __reduce__(s):
        return (_rebuild_tensor_v2, (s.storage, 0, s.shape, (s.shape[1], 1), False, collections.OrderedDict()))
class P(pickle.Pickler):
    def persistent_id(s, obj):
        if isinstance(obj, Storage): return ('storage', BFloat16Storage, obj.key, 'cpu', obj.numel)
        return None
sd = collections.OrderedDict()
for i in range(n):
    sd['model.layers.%d.mlp.proj_%d.weight' % (i // 7, i % 7)] = T(Storage(str(i), rows * cols), (rows, cols))
import io
buf = io.BytesIO(); P(buf, protocol=2).dump(sd)
with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_STORED) as z:
    z.writestr('archive/data.pkl', buf.getvalue())
    z.writestr('archive/byteorder', 'little')
    blob = struct.pack('<H', 0x3f80) * (rows * cols)   # bf16 1.0
    for i in range(n):
        z.writestr('archive/data/%d' % i, blob)
    z.writestr('archive/version', '3\n')
