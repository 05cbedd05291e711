#!/usr/bin/env python3
"""Writes tests/data/math/cauchy_edges.csv: mpmath references for the Cauchy functions at the
edges of the floating-point range (scales 1e+-300 and 1e+-38, |z| up to 1e300 and beyond,
subnormals, locations near the largest finite number, equal laws).

Developer tool only (apt-get install python3-mpmath); the tests read the committed CSV.
Every input is an exact value of its type (float rows hold floats, written as their exact double
repr, which strtof reads back exactly). References are exact-math values at 200 significant
digits, printed with 25 digits; the test rounds them to the row's type with strtod/strtof.
Forms are chosen so that no reference cancels: atan2 for probabilities, log1p near 1,
-1/tan(pi p) and 1/tan(pi (1 - p)) for quantiles in the tails.
"""
import math
import struct
import sys

from mpmath import mp, mpf, atan2, log, log1p, tan, pi, nstr

mp.prec = 700  # binary digits: x - loc exact for every input below, tan near pi/2 resolved


def as_float(v):
    return struct.unpack("f", struct.pack("f", v))[0]


TYPES = {
    "double": dict(
        cast=float,
        max=sys.float_info.max,
        tiny=5e-324,
        min_normal=sys.float_info.min,
        scales=[5e-324, 1e-300, 1.0, 3.5, 1e300, sys.float_info.max],
        big=1e300,
        eps=2.0**-53,
    ),
    "float": dict(
        cast=as_float,
        max=as_float(3.4028234663852886e38),
        tiny=as_float(1.401298464324817e-45),
        min_normal=as_float(1.1754943508222875e-38),
        scales=[as_float(v) for v in (1.401298464324817e-45, 1e-38, 1.0, 3.5, 1e38, 3.4028234663852886e38)],
        big=as_float(1e38),
        eps=2.0**-24,
    ),
}

rows = []


def ref(v):
    if v == mp.inf:
        return "inf"
    if v == -mp.inf:
        return "-inf"
    if v == 0:
        return "0"
    return nstr(v, 25, min_fixed=1, max_fixed=0)


def add(function, type_name, loc, scale, arg, loc_b, scale_b, value):
    rows.append(f"{function},{type_name},{loc!r},{scale!r},{arg!r},{loc_b!r},{scale_b!r},{ref(value)}")


def cdf_ref(e, g):
    return atan2(g, -e) / pi


def log_cdf_ref(e, g):
    if e > 0:
        return log1p(-atan2(g, e) / pi)
    return log(atan2(g, -e)) - log(pi)


def std_quantile(p):
    if p < mpf(1) / 4:
        return -1 / tan(pi * p)
    if p > mpf(3) / 4:
        return 1 / tan(pi * (1 - p))
    return tan(pi * (p - mpf(1) / 2))


for type_name, t in TYPES.items():
    c = t["cast"]
    big, top, tiny = t["big"], t["max"], t["tiny"]
    locs = [0.0, 1.0, big, top, -top]
    xs = [0.0, 1.0, -tiny, big, -big, top, -top, c(top * 0.75)]
    for loc in locs:
        for g in t["scales"]:
            for x in xs + [loc]:
                e, G = mpf(x) - mpf(loc), mpf(g)
                add("pdf", type_name, loc, g, x, 0.0, 0.0, G / (pi * (G * G + e * e)))
                add("log_pdf", type_name, loc, g, x, 0.0, 0.0, log(G) - log(pi) - log(G * G + e * e))
                add("cdf", type_name, loc, g, x, 0.0, 0.0, cdf_ref(e, G))
                add("survival", type_name, loc, g, x, 0.0, 0.0, cdf_ref(-e, G))
                add("log_cdf", type_name, loc, g, x, 0.0, 0.0, log_cdf_ref(e, G))
                add("log_survival", type_name, loc, g, x, 0.0, 0.0, log_cdf_ref(-e, G))
            add("entropy", type_name, loc, g, 0.0, 0.0, 0.0, log(4 * pi * mpf(g)))
    eps = t["eps"]
    ps = [0.5 - eps / 2, 0.5 - eps, 0.5 + eps, c(0.5 - 2.0**-20), 0.25, c(0.3), c(0.7), 0.75, c(0.1), c(0.9),
          1 - eps, 1 - 2 * eps, eps, c(1e-30), t["min_normal"], tiny, c(tiny * 3)]
    for g in t["scales"]:
        for p in ps:
            for loc in (0.0, 1.0, top if std_quantile(mpf(p)) < 0 else -top):
                q = std_quantile(mpf(p))
                for function, offset in (("quantile", mpf(g) * q), ("quantile_survival", -mpf(g) * q)):
                    # loc + offset is one rounding of an exact sum: where it cancels, the error is
                    # relative to |loc|, not to the result, so those rows would test nothing.
                    value = mpf(loc) + offset
                    if abs(value) >= max(abs(mpf(loc)), abs(offset)) / 2:
                        add(function, type_name, loc, g, p, 0.0, 0.0, value)
    # KL between laws spanning the range, equal laws (exactly 0) and neighbours one ulp apart.
    for la in (0.0, big, -top):
        for ga in t["scales"]:
            for lb, gb in ((la, ga), (0.0, 1.0), (top, ga), (la, c(ga * 2) if ga * 2 <= top else ga / 2),
                           (la, math.nextafter(ga, math.inf if ga < top else 0.0) if type_name == "double" else ga), (-top, big)):
                A, GA, B, GB = mpf(la), mpf(ga), mpf(lb), mpf(gb)
                kl = log(((GA + GB) ** 2 + (A - B) ** 2) / (4 * GA * GB))
                add("kl_divergence", type_name, la, ga, 0.0, lb, gb, kl)

with open(sys.argv[1] if len(sys.argv) > 1 else "tests/data/math/cauchy_edges.csv", "w") as out:
    out.write("function,type,loc,scale,arg,loc_b,scale_b,reference\n")
    out.write("\n".join(rows) + "\n")
print(len(rows), "rows")
