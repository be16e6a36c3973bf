"""Derives the rational approximation behind the WGSL `tanh_` (ops/wgsl/prelude.ts).

tanh(x) = x * P(t) / Q(t), t = x^2, |x| <= 9 (beyond, tanh rounds to +-1 in float32), with P of degree 6
and Q of degree 3 in t and P(0) = Q(0) = 1 (so tanh(x) = x exactly in the limit of tiny x). The fit
minimises the relative error: Sanathanan-Koerner iterations for a linear least-squares start, then
Lawson reweighting towards minimax. It then evaluates the float32-rounded coefficients in float32 Horner
form, as the shader does, against float64 tanh on a dense grid (tiny values included), and prints the
coefficients as WGSL literals with that error.

  python3 scripts/fit-tanh.py
"""
import numpy as np

X = 9.0
S = X * X  # the fit runs in s = t / S, which keeps the Vandermonde matrices well conditioned
NP, NQ = 7, 4

x = np.concatenate([np.linspace(1e-4, 1, 6000), np.linspace(1, X, 12000)])
s = x * x / S
f = np.tanh(x) / x


def solve(w):
    """Least squares of P(s) - f Q(s) with weights w; unknowns P1.., Q1.. (P0 = Q0 = 1)."""
    vp = np.vander(s, NP, increasing=True)
    vq = np.vander(s, NQ, increasing=True)
    a = np.concatenate([vp[:, 1:], -f[:, None] * vq[:, 1:]], axis=1)
    b = f - 1.0
    sw = np.sqrt(w)
    sol, *_ = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)
    return np.concatenate([[1.0], sol[: NP - 1]]), np.concatenate([[1.0], sol[NP - 1 :]])


def rel_err(cp, cq):
    return np.polyval(cp[::-1], s) / np.polyval(cq[::-1], s) / f - 1


cp, cq = solve(1 / f**2)
for _ in range(20):
    cp, cq = solve(1 / (np.polyval(cq[::-1], s) * f) ** 2)
best = (np.abs(rel_err(cp, cq)).max(), cp, cq)
lw = np.ones_like(s)
for _ in range(200):
    cp, cq = solve(lw / (np.polyval(cq[::-1], s) * f) ** 2)
    err = rel_err(cp, cq)
    m = np.abs(err).max()
    if m < best[0]:
        best = (m, cp, cq)
    lw = lw * np.abs(err) / m + 1e-12
    lw /= lw.sum()
fit_err, cp, cq = best
p = (cp / S ** np.arange(NP)).astype(np.float32)
q = (cq / S ** np.arange(NQ)).astype(np.float32)
assert np.all(np.roots(q[::-1].astype(np.float64)) < 0), "Q must have no root at t >= 0"

xs = np.concatenate([np.geomspace(1e-30, 1e-3, 20000), np.linspace(1e-3, 12, 400000)]).astype(np.float32)
xc = np.clip(xs, np.float32(-X), np.float32(X))
tt = (xc * xc).astype(np.float32)


def horner(c, v):
    r = np.full_like(v, c[-1])
    for a in c[-2::-1]:
        r = (r * v + a).astype(np.float32)
    return r


y = np.clip((xc * horner(p, tt) / horner(q, tt)).astype(np.float32), -1, 1)
ref = np.tanh(xs.astype(np.float64))
rel = np.abs(y - ref) / np.abs(ref)
ulp = np.abs(y.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
lit = lambda v: np.format_float_scientific(v, unique=True, trim="-").replace("e+00", "").replace("e-0", "e-")
print(f"fit (float64): max relative error {fit_err:.2e}")
print(f"float32 Horner: max relative error {rel.max():.2e} ({ulp.max():.1f} ulp) at x = {xs[rel.argmax()]}")
print("P:", ", ".join(lit(v) for v in p))
print("Q:", ", ".join(lit(v) for v in q))
