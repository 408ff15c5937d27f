"""Two small H.264 clips and the RGB frames torchcodec (qwen-omni-utils' reader when installed) decodes from them,
for MediaDecoderTests.testTorchcodecConversionMatchesTorchcodec. Run from Tests/Fixtures/media:

    python3 make_torchcodec_frames.py        # needs ffmpeg and torchcodec (0.17 here, FFmpeg 5.1 underneath)

bt601.mp4 carries no colour tags (libswscale's default matrix, BT.601); bt709.mp4 is tagged BT.709. Both are
64×48 (a width divisible by 32: torchcodec's libswscale path), 4 frames of testsrc2, yuv420p. The frames are
written as raw uint8 (frames, 48, 64, 3) in video/NAME.torchcodec.rgb.
"""
import subprocess
from torchcodec.decoders import VideoDecoder

src = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=4:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-qp", "20"]
tags = {"bt601": [], "bt709": ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]}
for name, extra in tags.items():
    subprocess.run(["ffmpeg", "-v", "error", "-y"] + src + extra + [f"video/{name}.mp4"], check=True)
    d = VideoDecoder(f"video/{name}.mp4", dimension_order="NHWC")
    frames = d.get_frames_in_range(0, len(d)).data.numpy()
    assert frames.shape == (4, 48, 64, 3), frames.shape
    frames.tofile(f"video/{name}.torchcodec.rgb")
