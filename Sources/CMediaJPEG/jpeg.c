// Built without libjpeg (the FFmpeg trait off, no libjpeg-dev) the file compiles to nothing.
#if __has_include(<jpeglib.h>)
#include "omni_jpeg.h"
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int warnings;
} omni_error_mgr;

static void omni_error_exit(j_common_ptr cinfo) {
    omni_error_mgr *e = (omni_error_mgr *)cinfo->err;
    longjmp(e->jump, 1);
}

static void omni_emit_message(j_common_ptr cinfo, int level) {
    omni_error_mgr *e = (omni_error_mgr *)cinfo->err;
    // Premature end of data (a truncated file) fails as Pillow's "image file is truncated"; libjpeg's other
    // corrupt-data warnings (extraneous bytes before a marker) decode on, as in Pillow.
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) e->warnings++;
}

static void message(j_common_ptr cinfo, char *error, size_t error_size) {
    char buf[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, buf);
    snprintf(error, error_size, "%s", buf);
}

static unsigned get16(const uint8_t *p, int le) { return le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]); }
static unsigned get32(const uint8_t *p, int le) {
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24
              : (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | (unsigned)p[3];
}

/// The Orientation tag (0x0112) of IFD0 in an APP1 "Exif\0\0" payload; 1 when absent or malformed.
static int exif_orientation(const uint8_t *d, size_t n) {
    if (n < 14 || memcmp(d, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = d + 6;
    size_t tn = n - 6;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1; else if (t[0] == 'M' && t[1] == 'M') le = 0; else return 1;
    if (get16(t + 2, le) != 42) return 1;
    size_t ifd = get32(t + 4, le);
    if (ifd > tn || tn - ifd < 2) return 1;
    unsigned count = get16(t + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + (size_t)i * 12;
        if (e > tn || tn - e < 12) return 1;
        if (get16(t + e, le) == 0x0112) {
            unsigned v = get16(t + e + 8, le);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

int omni_jpeg_header(const uint8_t *data, size_t size, omni_jpeg_info *info, char *error, size_t error_size) {
    struct jpeg_decompress_struct cinfo;
    omni_error_mgr err;
    memset(info, 0, sizeof *info);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = omni_error_exit;
    err.base.emit_message = omni_emit_message;
    err.warnings = 0;
    if (setjmp(err.jump)) {
        message((j_common_ptr)&cinfo, error, error_size);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->components = cinfo.num_components;
    info->cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    info->orientation = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) { info->orientation = exif_orientation(m->data, m->data_length); break; }
    }
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int omni_jpeg_decode(const uint8_t *data, size_t size, uint8_t *out, size_t out_size, int allow_truncated,
                     char *error, size_t error_size) {
    struct jpeg_decompress_struct cinfo;
    omni_error_mgr err;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = omni_error_exit;
    err.base.emit_message = omni_emit_message;
    err.warnings = 0;
    if (setjmp(err.jump)) {
        message((j_common_ptr)&cinfo, error, error_size);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * 3;
    if (cinfo.output_components != 3 || row * cinfo.output_height != out_size) {
        snprintf(error, error_size, "decoder output %ux%ux%d does not match the header", cinfo.output_width,
                 cinfo.output_height, cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW r = out + row * cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) break;
    }
    if (err.warnings > 0 && !allow_truncated) {
        message((j_common_ptr)&cinfo, error, error_size);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
#endif
