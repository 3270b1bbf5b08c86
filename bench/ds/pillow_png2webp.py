"""PNG -> WebP with Pillow, quality 80. Usage: pillow_png2webp.py <in> <out> <processes> (0 = sequential)."""
import os
import sys
from multiprocessing import Pool

from PIL import Image

src, dst, procs = sys.argv[1], sys.argv[2], int(sys.argv[3])


def convert(name):
    Image.open(os.path.join(src, name)).save(os.path.join(dst, name[:-4] + '.webp'), 'WEBP', quality=80)


if __name__ == '__main__':
    names = sorted(n for n in os.listdir(src) if n.endswith('.png'))
    if procs == 0:
        for n in names:
            convert(n)
    else:
        with Pool(procs) as pool:
            pool.map(convert, names, chunksize=8)
