# transformers' image processor on Pillow's decode of every committed image (issue 10): the processor tensors our
# decoders + VisionProcessor must reproduce from the same files.
#   python3 make_processor_reference.py   (transformers 5.24.0, Pillow 13.0.0, torch; writes images/processor.safetensors)
# Each image is decoded as make_images.py does (Image.open, EXIF orientation, to_rgb) and given to
# Qwen2VLImageProcessorPil (Qwen2VLImageProcessor on Pillow) with the tiny fixture's image_processor settings (Models/tiny-omni/processor_config.json,
# the published checkpoint's values): NAME.pixel_values [patches, 1176] f32 and NAME.image_grid_thw [1, 3] i64.
import json, os
import numpy as np
from PIL import Image, ImageOps
from safetensors.numpy import save_file
import transformers
from transformers import Qwen2VLImageProcessorPil

here = os.path.dirname(os.path.abspath(__file__))
cfg = json.load(open(os.path.join(here, "../../../Models/tiny-omni/processor_config.json")))["image_processor"]
cfg = {k: v for k, v in cfg.items() if k != "image_processor_type"}
proc = Qwen2VLImageProcessorPil(**cfg)   # the Pillow backend: what transformers runs without torchvision

def to_rgb(img):
    if img.mode == "RGBA":
        white = Image.new("RGB", img.size, (255, 255, 255))
        white.paste(img, mask=img.split()[3])
        return white
    return img.convert("RGB")

out = {}
names = sorted(n for n in os.listdir(os.path.join(here, "images")) if not n.endswith((".rgb", ".json", ".safetensors")))
for name in names:
    img = to_rgb(ImageOps.exif_transpose(Image.open(os.path.join(here, "images", name))))
    r = proc(images=[img], return_tensors="np")
    out[name + ".pixel_values"] = np.ascontiguousarray(r["pixel_values"], dtype=np.float32)
    out[name + ".image_grid_thw"] = np.ascontiguousarray(r["image_grid_thw"], dtype=np.int64)
save_file(out, os.path.join(here, "images", "processor.safetensors"),
          metadata={"transformers": transformers.__version__, "processor": type(proc).__name__})
import PIL
print("transformers", transformers.__version__, "Pillow", PIL.__version__, type(proc).__name__, len(names), "images")
