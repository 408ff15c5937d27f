// PIL's separable resampling of packed 8-bit RGB (ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc):
// 22-bit fixed-point coefficients, accumulators starting at 1 << 21, each output shifted right by 22 and clamped to
// 0…255. The sums are exact in 32-bit integers (|coefficients| sum to at most 1.25 · 2^22), so every path gives the
// same bytes.
#ifndef OMNI_RESAMPLE_H
#define OMNI_RESAMPLE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Horizontal pass over rows [row0, row1): src (rows, in_width, 3) → dst (rows, out_width, 3). `bounds` holds
/// (first input pixel, tap count) per output pixel, `coeffs` (out_width, taps) with zeros past each count.
void omni_resample_rgb8_horizontal(const uint8_t *src, size_t in_width, uint8_t *dst, size_t out_width,
                                   const int32_t *bounds, const int32_t *coeffs, size_t taps, size_t row0, size_t row1);

/// Vertical pass for output rows [row0, row1): src (in_rows, row_bytes) → dst (out_rows, row_bytes), row_bytes =
/// width · 3. `bounds` holds (first input row, tap count) per output row, `coeffs` (out_rows, taps).
void omni_resample_rgb8_vertical(const uint8_t *src, size_t row_bytes, uint8_t *dst,
                                 const int32_t *bounds, const int32_t *coeffs, size_t taps, size_t row0, size_t row1);

#ifdef __cplusplus
}
#endif
#endif
