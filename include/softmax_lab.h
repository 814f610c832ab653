/* softmax_lab.h — the C ABI of softmax-lab's external variants (kind = "library").
 *
 * A shared library exports, for each function it implements and each dtype it
 * declares, a forward entry point and (when declared with backward = true) a
 * vector-Jacobian product. softmax-lab loads the library at the variant's first
 * call, resolves every declared symbol then (a missing one is an error naming the
 * variant, the library as declared and the symbol), and calls it in-process: the
 * throughput runner times these calls like any built-in variant's.
 *
 * Symbols: <prefix>_<sfx> and <prefix>_vjp_<sfx>, where <prefix> is the
 * declaration's `prefix` (default "sl_" + function: sl_softmax, sl_log_softmax,
 * sl_sigmoid) and <sfx> is the dtype:
 *
 *   sfx    element type   contents
 *   f16    uint16_t       IEEE binary16 bit pattern
 *   bf16   uint16_t       bfloat16 bit pattern (the high half of a binary32)
 *   f32    float
 *   f64    double
 *
 * Every buffer is row-major [rows, n], contiguous, rows * n elements; n >= 1.
 * Buffers never alias. Calls may come from several threads at once, on
 * different buffers: keep no unsynchronised global scratch.
 *
 * Return 0 on success; any other value is an error code, reported with the
 * variant id (and the variant is not called again in that scenario).
 *
 * A working example of every function and dtype: crates/external/fixtures/sl_example.c
 * (build: cc -shared -fPIC -O2 -o libsl_example.so sl_example.c -lm).
 */
#ifndef SOFTMAX_LAB_H
#define SOFTMAX_LAB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Forward: y = f(x / temperature) for each row.
 *   softmax:      y_i = exp(x_i / T) / sum_j exp(x_j / T)
 *   log_softmax:  y_i = x_i / T - log sum_j exp(x_j / T)
 *   sigmoid:      y_i = 1 / (1 + exp(-x_i)), elementwise (temperature is 1 and
 *                 may be ignored: sigmoid variants take none)
 * temperature: finite and > 0; always 1.0 unless the declaration says
 * temperature = true. */
int sl_softmax_f32(const float *x, float *y, size_t rows, size_t n, double temperature);
int sl_softmax_f64(const double *x, double *y, size_t rows, size_t n, double temperature);
int sl_softmax_f16(const uint16_t *x, uint16_t *y, size_t rows, size_t n, double temperature);
int sl_softmax_bf16(const uint16_t *x, uint16_t *y, size_t rows, size_t n, double temperature);

/* Vector-Jacobian product (backward = true only): given x, y = f(x) as the
 * forward above computed it, and dy = dL/dy, write dx = dL/dx (dx of the
 * function of x, including the 1/T of the temperature).
 *   softmax:      dx_i = y_i (dy_i - sum_j dy_j y_j) / T
 *   log_softmax:  dx_i = (dy_i - exp(y_i) sum_j dy_j) / T
 *   sigmoid:      dx_i = dy_i y_i (1 - y_i) */
int sl_softmax_vjp_f32(const float *x, const float *y, const float *dy, float *dx,
                       size_t rows, size_t n, double temperature);
int sl_softmax_vjp_f64(const double *x, const double *y, const double *dy, double *dx,
                       size_t rows, size_t n, double temperature);
int sl_softmax_vjp_f16(const uint16_t *x, const uint16_t *y, const uint16_t *dy,
                       uint16_t *dx, size_t rows, size_t n, double temperature);
int sl_softmax_vjp_bf16(const uint16_t *x, const uint16_t *y, const uint16_t *dy,
                        uint16_t *dx, size_t rows, size_t n, double temperature);

/* The same two signatures per dtype for log-softmax and sigmoid (and for any
 * other prefix a declaration names):
 *   int sl_log_softmax_<sfx>(...), int sl_log_softmax_vjp_<sfx>(...)
 *   int sl_sigmoid_<sfx>(...),     int sl_sigmoid_vjp_<sfx>(...) */
int sl_log_softmax_f32(const float *x, float *y, size_t rows, size_t n, double temperature);
int sl_log_softmax_vjp_f32(const float *x, const float *y, const float *dy, float *dx,
                           size_t rows, size_t n, double temperature);
int sl_sigmoid_f32(const float *x, float *y, size_t rows, size_t n, double temperature);
int sl_sigmoid_vjp_f32(const float *x, const float *y, const float *dy, float *dx,
                       size_t rows, size_t n, double temperature);

/* Optional: a version string recorded in the results (the variant's `name` and
 * versions.sl_version) and shown in the report's Peers section. Static storage;
 * NULL means none. */
const char *sl_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SOFTMAX_LAB_H */
