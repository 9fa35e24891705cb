/* One minGRU / minLSTM layer's recurrence on the CPU, forward and backward, in one pass over time.
 *
 * rnnkit.nn.native compiles this file on first use (cc -O3 -march=native) and calls it through
 * ctypes; rnnkit.nn.min_rnn._MinScan runs the same numbers in torch ops (the blocked scan) when no
 * compiler is present. Inputs are (B, T, H) row-major arrays: u, the keep logit (keep a = sigmoid(-u),
 * write z = 1 - a = sigmoid(u)), and k, the candidate pre-activation (g(k) = k + 1/2 for k >= 0,
 * sigmoid(k) below); h0 is (B, H). The recurrence, for each of the B*H independent chains:
 *
 *     h_t = a_t h_{t-1} + z_t g(k_t)
 *
 * Backward (the BPTT of rnnkit.reference.min_rnn, read in reverse):
 *
 *     G_t = dL/dh_t + a_{t+1} G_{t+1}
 *     dL/du_t = G_t (g(k_t) - h_{t-1}) a_t z_t,   dL/dk_t = G_t z_t g'(k_t),   dL/dh0 = a_0 G_0
 *
 * The gate values are recomputed in the backward pass rather than stored: the forward writes only h.
 * Batch rows [b0, b1) are done per call, so callers may split the batch across threads.
 */
#include <math.h>
#include <stdlib.h>

/* The per-row loops are kept out of line: inside the time and batch loops GCC 12 did not vectorize
 * them (measured 5 ms instead of 1 ms for the backward at B=8, T=1024, H=128). */
/* exp of an argument clamped below the type's overflow: -ffast-math assumes no infinities, and its
 * vectorized reciprocal turns 1/(1 + inf) into NaN (a saturated gate) */
#define EXP_MAX_f32 88.0f
#define EXP_MAX_f64 708.0

#define DEFINE_MIN_RECURRENCE(T_, SUFFIX, EXP)                                                      \
    static inline T_ sigm_##SUFFIX(T_ x) {                                                          \
        return (T_)1 / ((T_)1 + EXP(-x < EXP_MAX_##SUFFIX ? -x : EXP_MAX_##SUFFIX));                \
    }                                                                                               \
                                                                                                    \
    __attribute__((noinline)) static void forward_row_##SUFFIX(                                     \
        const T_ *restrict u, const T_ *restrict k, const T_ *restrict prev, T_ *restrict h, long H) { \
        for (long j = 0; j < H; ++j) {                                                              \
            const T_ z = sigm_##SUFFIX(u[j]);                                                       \
            const T_ kv = k[j];                                                                     \
            const T_ s = sigm_##SUFFIX(kv < 0 ? kv : (T_)0);                                       \
            const T_ g = kv >= 0 ? kv + (T_)0.5 : s;                                                \
            h[j] = ((T_)1 - z) * prev[j] + z * g;                                                   \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    __attribute__((noinline)) static void backward_row_##SUFFIX(                                    \
        const T_ *restrict u, const T_ *restrict k, const T_ *restrict prev, const T_ *restrict grad, \
        T_ *restrict du, T_ *restrict dk, T_ *restrict G, T_ *restrict a_next, long H) {            \
        for (long j = 0; j < H; ++j) {                                                              \
            const T_ Gj = grad[j] + a_next[j] * G[j];                                               \
            const T_ z = sigm_##SUFFIX(u[j]);                                                       \
            const T_ a = (T_)1 - z;                                                                 \
            const T_ kv = k[j];                                                                     \
            const T_ s = sigm_##SUFFIX(kv < 0 ? kv : (T_)0);                                       \
            const T_ g = kv >= 0 ? kv + (T_)0.5 : s;                                                \
            const T_ dg = kv >= 0 ? (T_)1 : s * ((T_)1 - s);                                        \
            du[j] = Gj * (g - prev[j]) * a * z;                                                     \
            dk[j] = Gj * z * dg;                                                                    \
            G[j] = Gj;                                                                              \
            a_next[j] = a;                                                                          \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    void min_forward_##SUFFIX(const T_ *u, const T_ *k, const T_ *h0, T_ *h, long b0, long b1,        \
                              long T, long H) {                                                     \
        for (long b = b0; b < b1; ++b) {                                                            \
            const T_ *prev = h0 + b * H;                                                            \
            for (long t = 0; t < T; ++t) {                                                          \
                const long o = (b * T + t) * H;                                                     \
                forward_row_##SUFFIX(u + o, k + o, prev, h + o, H);                                 \
                prev = h + o;                                                                       \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    int min_backward_##SUFFIX(const T_ *u, const T_ *k, const T_ *h0, const T_ *h, const T_ *grad,    \
                              T_ *du, T_ *dk, T_ *dh0, long b0, long b1, long T, long H) {          \
        T_ *G = (T_ *)calloc(2 * (size_t)H, sizeof(T_));                                            \
        if (!G) return 1;                                                                           \
        T_ *a_next = G + H;                                                                         \
        for (long b = b0; b < b1; ++b) {                                                            \
            for (long j = 0; j < 2 * H; ++j) G[j] = 0;                                              \
            for (long t = T - 1; t >= 0; --t) {                                                     \
                const long o = (b * T + t) * H;                                                     \
                const T_ *prev = t > 0 ? h + o - H : h0 + b * H;                                    \
                backward_row_##SUFFIX(u + o, k + o, prev, grad + o, du + o, dk + o, G, a_next, H);  \
            }                                                                                       \
            for (long j = 0; j < H; ++j) dh0[b * H + j] = a_next[j] * G[j];                        \
        }                                                                                           \
        free(G);                                                                                    \
        return 0;                                                                                   \
    }

DEFINE_MIN_RECURRENCE(float, f32, expf)
DEFINE_MIN_RECURRENCE(double, f64, exp)
