// JPEG decoding through libjpeg(-turbo), the library Pillow decodes with, so that pixels match Pillow's
// (ISLOW IDCT, fancy upsampling). C because libjpeg reports errors by longjmp, which Swift cannot catch.
#ifndef OMNI_JPEG_H
#define OMNI_JPEG_H
#include <stddef.h>
#include <stdint.h>

/// Header facts: size, components, and the EXIF orientation (1…8; 1 when absent).
typedef struct {
    int width, height, components, orientation;
    int cmyk;  // 1 when the colour space is CMYK or YCCK (not decoded here)
} omni_jpeg_info;

/// Reads the header of `data`; returns 0, or -1 with a message in `error` (size `error_size`).
int omni_jpeg_header(const uint8_t *data, size_t size, omni_jpeg_info *info, char *error, size_t error_size);

/// Decodes `data` to RGB into `out` (width × height × 3 bytes, sizes from omni_jpeg_header); 0 or -1 with a message.
/// A truncated file decodes as far as libjpeg gets (grey below, as Pillow with LOAD_TRUNCATED_IMAGES) only when
/// `allow_truncated`; otherwise it is an error.
int omni_jpeg_decode(const uint8_t *data, size_t size, uint8_t *out, size_t out_size, int allow_truncated,
                     char *error, size_t error_size);
#endif
