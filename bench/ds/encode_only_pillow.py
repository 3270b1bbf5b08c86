"""WebP encode alone (quality 80), one process, from raw pixels written by encode-only.ts.

Usage: encode_only_pillow.py <raw dir>. Files are named <index>_<width>_<height>_<channels>.raw.
Prints one JSON line: CPU seconds of the encodes alone and the total bytes written to memory.
"""
import io
import json
import os
import sys
import time

from PIL import Image

src = sys.argv[1]
images = []
for name in sorted(os.listdir(src), key=lambda n: int(n.split('_')[0])):
    _, width, height, channels = name[:-4].split('_')
    with open(os.path.join(src, name), 'rb') as f:
        images.append(Image.frombytes('RGBA' if channels == '4' else 'RGB', (int(width), int(height)), f.read()))

started = time.process_time()
total = 0
for image in images:
    out = io.BytesIO()
    image.save(out, 'WEBP', quality=80)
    total += out.tell()
print(json.dumps({'cpuMs': (time.process_time() - started) * 1000, 'bytes': total}))
