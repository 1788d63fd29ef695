#!/usr/bin/env python3
"""Reference outputs of the sampler's PRNG (xoshiro256** seeded through SplitMix64), written
from the published algorithm descriptions (https://prng.di.unimi.it/xoshiro256starstar.c and
splitmix64.c), independently of engine/sampler.cpp. tests/engine/sampler_test.cpp holds the
printed values."""

M = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def xoshiro(seed, n):
    s, state = [], seed
    for _ in range(4):
        state, v = splitmix64(state)
        s.append(v)
    out = []
    for _ in range(n):
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        out.append(result)
    return out


if __name__ == "__main__":
    for seed in (1, 42):
        print(seed, ", ".join("0x%016xull" % v for v in xoshiro(seed, 4)))
