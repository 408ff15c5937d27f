# Writes state_dict.pt: a torch-style zip made by CPython's pickler (memo, BINPUT/BINGET, OrderedDict,
# nested dicts, a list, scalars, shared storage, a transposed view) without torch installed.
# Run once; the bytes are committed. Expected values are stated in TorchPickleReaderTests.
import sys, types, pickle, collections, zipfile, struct, io
torch = types.ModuleType('torch'); utils = types.ModuleType('torch._utils')
def _rebuild_tensor_v2(*a): raise RuntimeError
_rebuild_tensor_v2.__module__ = 'torch._utils'; _rebuild_tensor_v2.__qualname__ = '_rebuild_tensor_v2'
utils._rebuild_tensor_v2 = _rebuild_tensor_v2
def _rebuild_parameter(*a): raise RuntimeError
_rebuild_parameter.__module__ = 'torch._utils'; _rebuild_parameter.__qualname__ = '_rebuild_parameter'
utils._rebuild_parameter = _rebuild_parameter
for name in ['FloatStorage', 'HalfStorage', 'LongStorage']:
    c = type(name, (), {}); c.__module__ = 'torch'; setattr(torch, name, c)
sys.modules['torch'] = torch; sys.modules['torch._utils'] = utils
class Storage:
    def __init__(s, kind, key, numel): s.kind, s.key, s.numel = kind, key, numel
class T:
    def __init__(s, st, off, shape, stride): s.a = (st, off, shape, stride)
    def __reduce__(s): return (_rebuild_tensor_v2, s.a + (False, collections.OrderedDict()))
class Param:
    def __init__(s, t): s.t = t
    def __reduce__(s): return (_rebuild_parameter, (s.t, True, collections.OrderedDict()))
class P(pickle.Pickler):
    def persistent_id(s, o):
        return ('storage', getattr(torch, o.kind), o.key, 'cpu', o.numel) if isinstance(o, Storage) else None
f = Storage('FloatStorage', '0', 6)          # 0..5 as f32
h = Storage('HalfStorage', '1', 4)           # 1.0, 2.0, -2.0, 0.5 as f16
l = Storage('LongStorage', '2', 3)           # 7, -8, 9
sd = collections.OrderedDict()
sd['encoder'] = {'weight': T(f, 0, (2, 3), (3, 1)), 'weight_t': T(f, 0, (3, 2), (1, 3)),
                 'tail': T(f, 4, (2,), (1,)), 'half': Param(T(h, 0, (4,), (1,)))}
sd['ids'] = T(l, 0, (3,), (1,))
sd['config'] = {'lr': 0.5, 'name': 'tiny', 'steps': 300000, 'neg': -5, 'flag': True, 'none': None,
                'sizes': [3, 4]}
buf = io.BytesIO(); P(buf, protocol=2).dump(sd)
with zipfile.ZipFile('state_dict.pt', 'w', compression=zipfile.ZIP_STORED) as z:
    z.writestr('state_dict/data.pkl', buf.getvalue())
    z.writestr('state_dict/byteorder', 'little')
    z.writestr('state_dict/data/0', struct.pack('<6f', 0, 1, 2, 3, 4, 5))
    z.writestr('state_dict/data/1', struct.pack('<4e', 1.0, 2.0, -2.0, 0.5))
    z.writestr('state_dict/data/2', struct.pack('<3q', 7, -8, 9))
    z.writestr('state_dict/version', '3\n')
