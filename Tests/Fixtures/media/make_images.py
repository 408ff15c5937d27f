# Small images in the formats the media decoders read, and what Pillow decodes them to (the reference):
#   python3 make_images.py   (Pillow 13.0.0, numpy; writes images/ and images/reference.json + *.rgb)
# Each NAME.rgb is Pillow's decode as qwen-omni-utils' fetch_image takes it before resizing: Image.open, the EXIF
# orientation applied (ImageOps.exif_transpose; the issue asks for it, qwen-omni-utils 0.0.9 does not do it),
# then to_rgb: RGBA composited on white with paste(mask=alpha), every other mode convert("RGB").
import json, os
import numpy as np
from PIL import Image, ImageOps

os.makedirs("images", exist_ok=True)
rng = np.random.default_rng(7)
h, w = 31, 45
y, x = np.mgrid[0:h, 0:w]
base = np.stack([(x * 5) % 256, (y * 8) % 256, (x * y) % 256], -1).astype(np.int32)
rgb = np.clip(base + rng.integers(-40, 40, base.shape), 0, 255).astype(np.uint8)
alpha = ((x * 7 + y * 3) % 256).astype(np.uint8)

def save(name, img, **kw):
    img.save(os.path.join("images", name), **kw)

save("rgb.png", Image.fromarray(rgb))
save("rgba.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))
save("gray.png", Image.fromarray(rgb[..., 0]))
save("la.png", Image.fromarray(np.dstack([rgb[..., 1], alpha]), "LA"))
save("palette.png", Image.fromarray(rgb).quantize(64))
save("q90.jpg", Image.fromarray(rgb), quality=90)
save("q95-444.jpg", Image.fromarray(rgb), quality=95, subsampling=0)
save("gray.jpg", Image.fromarray(rgb[..., 2]), quality=85)
for o in (3, 6, 8):
    exif = Image.Exif()
    exif[0x0112] = o
    save(f"exif{o}.jpg", Image.fromarray(rgb), quality=90, exif=exif.tobytes())
save("lossless.webp", Image.fromarray(rgb), lossless=True)
save("rgba-lossless.webp", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), lossless=True)
save("rgb.bmp", Image.fromarray(rgb))
frames = [Image.fromarray(rgb).quantize(32), Image.fromarray(255 - rgb).quantize(32)]
frames[0].save(os.path.join("images", "two-frames.gif"), save_all=True, append_images=frames[1:], duration=100)

def to_rgb(img):
    if img.mode == "RGBA":
        white = Image.new("RGB", img.size, (255, 255, 255))
        white.paste(img, mask=img.split()[3])
        return white
    return img.convert("RGB")

ref = {}
for name in sorted(os.listdir("images")):
    if name.endswith((".rgb", ".json")):
        continue
    img = to_rgb(ImageOps.exif_transpose(Image.open(os.path.join("images", name))))
    with open(os.path.join("images", name + ".rgb"), "wb") as f:
        f.write(img.tobytes())
    ref[name] = {"width": img.width, "height": img.height}
json.dump(ref, open(os.path.join("images", "reference.json"), "w"), indent=1, sort_keys=True)
import PIL
print("Pillow", PIL.__version__, len(ref), "images")
