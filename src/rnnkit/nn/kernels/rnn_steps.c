/* The time loops of the cpu_fused path (rnnkit.nn.cpu_fused) for RNN, LSTM and GRU layers, in C.
 *
 * rnnkit.nn.native compiles this file on first use (cc -O3 -march=native) and rnnkit.nn.cpu_native
 * calls it through ctypes; cpu_fused runs the same loops in torch ops when no compiler is present.
 * The GEMM of each step goes to the BLAS that torch itself links (its Fortran sgemm_/dgemm_, whose
 * address the caller passes in), so a step costs one BLAS call and one fused pass over the gates
 * instead of a dozen torch ops with their dispatch.
 *
 * Layout: time-major, row-major. proj (T, B, G) holds the input projection of every step with the
 * biases that add straight in (cpu_fused computes it as one GEMM); W is W_hh (G, H) as torch stores
 * it (LSTM rows reordered to gates i, f, o, g); hs (T+1, B, H) with hs[0] = h0. bsz[t] is how many
 * batch rows still run at step t (the batch sorted by length, longest first): every step works on
 * rows [0, bsz[t]) only, so finished sequences keep their state and padded rows are never written.
 *
 * Forward, per step (pre = proj[t] + h_{t-1} W^T, activations written back into proj as the
 * backward pass reads them):
 *   rnn   h = tanh(pre) or relu(pre)
 *   lstm  i, f, o = sigmoid(pre_i, pre_f, pre_o), g = tanh(pre_g); c = f c_{t-1} + i g; h = o tanh(c)
 *   gru   hp = h_{t-1} W^T + b_hh (kept); r, z = sigmoid(proj_rz + hp_rz); n = tanh(proj_n + r hp_n);
 *         h = n + z (h_{t-1} - n)
 * Backward (the BPTT of rnnkit.reference, read in reverse): Gh (B, H) enters as dL/dh_T and leaves
 * as dL/dh_0 (Gc likewise for the LSTM cell state); dpre (T, B, G) receives dL/dpre per step, from
 * which the caller makes the weight gradients and dx as one GEMM each.
 */
#include <math.h>
#include <stddef.h>

/* exp of an argument clamped below the type's overflow: -ffast-math assumes no infinities, and its
 * vectorized reciprocal turns 1/(1 + inf) into NaN (a saturated gate, e.g. an input of 1e4) */
#define EXP_MAX_f32 88.0f
#define EXP_MAX_f64 708.0

#define DEFINE_RNN_STEPS(T_, SUFFIX, EXP)                                                            \
    typedef void (*gemm_##SUFFIX##_t)(const char *, const char *, const int *, const int *,           \
                                       const int *, const T_ *, const T_ *, const int *, const T_ *,  \
                                       const int *, const T_ *, T_ *, const int *);                   \
                                                                                                      \
    static inline T_ exp_##SUFFIX(T_ x) { return EXP(x < EXP_MAX_##SUFFIX ? x : EXP_MAX_##SUFFIX); }    \
    static inline T_ sigm_##SUFFIX(T_ x) { return (T_)1 / ((T_)1 + exp_##SUFFIX(-x)); }                 \
    static inline T_ tanh_##SUFFIX(T_ x) { return (T_)2 / ((T_)1 + exp_##SUFFIX((T_)-2 * x)) - (T_)1; } \
                                                                                                      \
    /* C (bs, G) = beta C + A (bs, H) W^T, W (G, H) row-major */                                      \
    static void gemm_awt_##SUFFIX(void *gemm, int bs, int G, int H, const T_ *A, const T_ *W, T_ beta, \
                                  T_ *C) {                                                            \
        const T_ one = 1;                                                                             \
        ((gemm_##SUFFIX##_t)gemm)("T", "N", &G, &bs, &H, &one, W, &H, A, &H, &beta, C, &G);           \
    }                                                                                                 \
    /* C (bs, H) = beta C + D (bs, G) W, W (G, H) row-major */                                        \
    static void gemm_dw_##SUFFIX(void *gemm, int bs, int G, int H, const T_ *D, const T_ *W, T_ beta,  \
                                 T_ *C) {                                                             \
        const T_ one = 1;                                                                             \
        ((gemm_##SUFFIX##_t)gemm)("N", "N", &H, &bs, &G, &one, W, &H, D, &G, &beta, C, &H);           \
    }                                                                                                 \
                                                                                                      \
    /* ---- row kernels: out of line so that GCC vectorizes them (see min_recurrence.c) ---- */       \
    __attribute__((noinline)) static void rnn_fwd_row_##SUFFIX(const T_ *restrict pre, T_ *restrict h, \
                                                               long H, int relu) {                    \
        if (relu)                                                                                     \
            for (long j = 0; j < H; ++j) h[j] = pre[j] > 0 ? pre[j] : (T_)0;                          \
        else                                                                                          \
            for (long j = 0; j < H; ++j) h[j] = tanh_##SUFFIX(pre[j]);                                \
    }                                                                                                 \
    __attribute__((noinline)) static void rnn_bwd_row_##SUFFIX(                                       \
        const T_ *restrict h, const T_ *restrict gh, const T_ *restrict go, T_ *restrict dp, long H,   \
        int relu) {                                                                                   \
        for (long j = 0; j < H; ++j) {                                                                \
            const T_ dh = gh[j] + (go ? go[j] : (T_)0);                                               \
            dp[j] = relu ? (h[j] > 0 ? dh : (T_)0) : dh * ((T_)1 - h[j] * h[j]);                      \
        }                                                                                             \
    }                                                                                                 \
    __attribute__((noinline)) static void lstm_fwd_row_##SUFFIX(                                      \
        T_ *restrict a, const T_ *restrict cp, T_ *restrict c, T_ *restrict tc, T_ *restrict h,       \
        long H) {                                                                                     \
        for (long j = 0; j < H; ++j) {                                                                \
            const T_ i = sigm_##SUFFIX(a[j]), f = sigm_##SUFFIX(a[H + j]);                            \
            const T_ o = sigm_##SUFFIX(a[2 * H + j]), g = tanh_##SUFFIX(a[3 * H + j]);                \
            a[j] = i, a[H + j] = f, a[2 * H + j] = o, a[3 * H + j] = g;                               \
            const T_ cj = f * cp[j] + i * g;                                                          \
            const T_ t = tanh_##SUFFIX(cj);                                                           \
            c[j] = cj, tc[j] = t, h[j] = o * t;                                                       \
        }                                                                                             \
    }                                                                                                 \
    __attribute__((noinline)) static void lstm_bwd_row_##SUFFIX(                                      \
        const T_ *restrict a, const T_ *restrict cp, const T_ *restrict tc, const T_ *restrict gh,    \
        const T_ *restrict go, T_ *restrict gc, T_ *restrict dp, long H) {                            \
        for (long j = 0; j < H; ++j) {                                                                \
            const T_ i = a[j], f = a[H + j], o = a[2 * H + j], g = a[3 * H + j], t = tc[j];           \
            const T_ dh = gh[j] + (go ? go[j] : (T_)0);                                               \
            const T_ dc = gc[j] + dh * o * ((T_)1 - t * t);                                           \
            dp[j] = dc * g * i * ((T_)1 - i);                                                         \
            dp[H + j] = dc * cp[j] * f * ((T_)1 - f);                                                 \
            dp[2 * H + j] = dh * t * o * ((T_)1 - o);                                                 \
            dp[3 * H + j] = dc * i * ((T_)1 - g * g);                                                 \
            gc[j] = dc * f;                                                                           \
        }                                                                                             \
    }                                                                                                 \
    __attribute__((noinline)) static void gru_fwd_row_##SUFFIX(                                       \
        T_ *restrict a, T_ *restrict hp, const T_ *restrict bhh, const T_ *restrict prev,             \
        T_ *restrict h, long H) {                                                                     \
        if (bhh)                                                                                      \
            for (long j = 0; j < 3 * H; ++j) hp[j] += bhh[j];                                         \
        for (long j = 0; j < H; ++j) {                                                                \
            const T_ r = sigm_##SUFFIX(a[j] + hp[j]), z = sigm_##SUFFIX(a[H + j] + hp[H + j]);        \
            const T_ n = tanh_##SUFFIX(a[2 * H + j] + r * hp[2 * H + j]);                             \
            a[j] = r, a[H + j] = z, a[2 * H + j] = n;                                                 \
            h[j] = n + z * (prev[j] - n);                                                             \
        }                                                                                             \
    }                                                                                                 \
    __attribute__((noinline)) static void gru_bwd_row_##SUFFIX(                                       \
        const T_ *restrict a, const T_ *restrict hp, const T_ *restrict prev, T_ *restrict gh,        \
        const T_ *restrict go, T_ *restrict dx, T_ *restrict dhp, long H) {                           \
        for (long j = 0; j < H; ++j) {                                                                \
            const T_ r = a[j], z = a[H + j], n = a[2 * H + j];                                        \
            const T_ dh = gh[j] + (go ? go[j] : (T_)0);                                               \
            const T_ dz = dh * (prev[j] - n) * z * ((T_)1 - z);                                       \
            const T_ dn = dh * ((T_)1 - n * n) * ((T_)1 - z);                                         \
            const T_ dr = dn * r * ((T_)1 - r) * hp[2 * H + j];                                       \
            dx[j] = dr, dx[H + j] = dz, dx[2 * H + j] = dn;                                           \
            dhp[j] = dr, dhp[H + j] = dz, dhp[2 * H + j] = dn * r;                                    \
            gh[j] = dh * z; /* the carry to h_{t-1}; the GEMM adds dhp W to it */                     \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* ---- whole sequences ---- */                                                                   \
    void rnn_forward_##SUFFIX(void *gemm, long T, long B, long H, const long *bsz, T_ *proj,          \
                              const T_ *W, T_ *hs, int relu) {                                        \
        for (long t = 0; t < T; ++t) {                                                                \
            const long bs = bsz[t];                                                                   \
            T_ *pre = proj + t * B * H;                                                               \
            gemm_awt_##SUFFIX(gemm, (int)bs, (int)H, (int)H, hs + t * B * H, W, (T_)1, pre);          \
            for (long b = 0; b < bs; ++b)                                                             \
                rnn_fwd_row_##SUFFIX(pre + b * H, hs + ((t + 1) * B + b) * H, H, relu);               \
        }                                                                                             \
    }                                                                                                 \
    void rnn_backward_##SUFFIX(void *gemm, long T, long B, long H, const long *bsz, const T_ *W,      \
                               const T_ *hs, const T_ *gout, T_ *gh, T_ *dpre, int relu) {            \
        for (long t = T - 1; t >= 0; --t) {                                                           \
            const long bs = bsz[t];                                                                   \
            T_ *dp = dpre + t * B * H;                                                                \
            for (long b = 0; b < bs; ++b)                                                             \
                rnn_bwd_row_##SUFFIX(hs + ((t + 1) * B + b) * H, gh + b * H,                          \
                                     gout ? gout + (t * B + b) * H : NULL, dp + b * H, H, relu);      \
            gemm_dw_##SUFFIX(gemm, (int)bs, (int)H, (int)H, dp, W, (T_)0, gh);                        \
        }                                                                                             \
    }                                                                                                 \
    void lstm_forward_##SUFFIX(void *gemm, long T, long B, long H, const long *bsz, T_ *proj,         \
                               const T_ *W, T_ *hs, T_ *cs, T_ *tanh_c) {                             \
        const long G = 4 * H;                                                                         \
        for (long t = 0; t < T; ++t) {                                                                \
            const long bs = bsz[t];                                                                   \
            T_ *a = proj + t * B * G;                                                                 \
            gemm_awt_##SUFFIX(gemm, (int)bs, (int)G, (int)H, hs + t * B * H, W, (T_)1, a);            \
            for (long b = 0; b < bs; ++b) {                                                           \
                const long o = (t * B + b) * H, o1 = ((t + 1) * B + b) * H;                           \
                lstm_fwd_row_##SUFFIX(a + b * G, cs + o, cs + o1, tanh_c + o, hs + o1, H);            \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
    void lstm_backward_##SUFFIX(void *gemm, long T, long B, long H, const long *bsz, const T_ *W,     \
                                const T_ *act, const T_ *cs, const T_ *tanh_c, const T_ *gout,        \
                                T_ *gh, T_ *gc, T_ *dpre) {                                           \
        const long G = 4 * H;                                                                         \
        for (long t = T - 1; t >= 0; --t) {                                                           \
            const long bs = bsz[t];                                                                   \
            T_ *dp = dpre + t * B * G;                                                                \
            for (long b = 0; b < bs; ++b) {                                                           \
                const long o = (t * B + b) * H;                                                       \
                lstm_bwd_row_##SUFFIX(act + (t * B + b) * G, cs + o, tanh_c + o, gh + b * H,          \
                                      gout ? gout + o : NULL, gc + b * H, dp + b * G, H);             \
            }                                                                                         \
            gemm_dw_##SUFFIX(gemm, (int)bs, (int)G, (int)H, dp, W, (T_)0, gh);                        \
        }                                                                                             \
    }                                                                                                 \
    void gru_forward_##SUFFIX(void *gemm, long T, long B, long H, const long *bsz, T_ *proj,          \
                              const T_ *W, const T_ *bhh, T_ *hs, T_ *hp) {                           \
        const long G = 3 * H;                                                                         \
        for (long t = 0; t < T; ++t) {                                                                \
            const long bs = bsz[t];                                                                   \
            T_ *hpt = hp + t * B * G;                                                                 \
            gemm_awt_##SUFFIX(gemm, (int)bs, (int)G, (int)H, hs + t * B * H, W, (T_)0, hpt);          \
            for (long b = 0; b < bs; ++b)                                                             \
                gru_fwd_row_##SUFFIX(proj + (t * B + b) * G, hpt + b * G, bhh, hs + (t * B + b) * H,   \
                                     hs + ((t + 1) * B + b) * H, H);                                  \
        }                                                                                             \
    }                                                                                                 \
    void gru_backward_##SUFFIX(void *gemm, long T, long B, long H, const long *bsz, const T_ *W,      \
                               const T_ *act, const T_ *hp, const T_ *hs, const T_ *gout, T_ *gh,     \
                               T_ *dxp, T_ *dhp) {                                                    \
        const long G = 3 * H;                                                                         \
        for (long t = T - 1; t >= 0; --t) {                                                           \
            const long bs = bsz[t];                                                                   \
            for (long b = 0; b < bs; ++b) {                                                           \
                const long o = (t * B + b) * G;                                                       \
                gru_bwd_row_##SUFFIX(act + o, hp + o, hs + (t * B + b) * H, gh + b * H,                \
                                     gout ? gout + (t * B + b) * H : NULL, dxp + o, dhp + o, H);      \
            }                                                                                         \
            gemm_dw_##SUFFIX(gemm, (int)bs, (int)G, (int)H, dhp + t * B * G, W, (T_)1, gh);           \
        }                                                                                             \
    }

DEFINE_RNN_STEPS(float, f32, expf)
DEFINE_RNN_STEPS(double, f64, exp)
