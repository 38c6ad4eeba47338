using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>Four 32-bit words: one Philox4x32 output block (or a counter).</summary>
internal struct PhiloxBlock
{
    public uint X0;
    public uint X1;
    public uint X2;
    public uint X3;

    public PhiloxBlock(uint x0, uint x1, uint x2, uint x3)
    {
        X0 = x0;
        X1 = x1;
        X2 = x2;
        X3 = x3;
    }
}

/// <summary>
/// Counter-based Philox4x32-10 (Salmon et al., SC'11). Every draw is a pure function of
/// (seed, stream, counter): no state, so the same seed gives the same numbers on every
/// backend and for every launch shape. Plain static code: callable from ILGPU kernels and C#.
/// </summary>
/// <remarks>
/// Mapping used throughout InfoGpu: key = (seed low 32 bits, seed high 32 bits);
/// counter = (block low, block high, stream low, stream high). Uniform number <c>i</c> of a
/// stream is word <c>i mod 4</c> of block <c>i / 4</c>; normal number <c>i</c> is the cosine
/// (even i) or sine (odd i) branch of Box-Muller on words 0 and 1 of block <c>i / 2</c>.
/// </remarks>
internal static class Philox
{
    internal const uint M0 = 0xD2511F53u;
    internal const uint M1 = 0xCD9E8D57u;
    internal const uint W0 = 0x9E3779B9u;
    internal const uint W1 = 0xBB67AE85u;

    /// <summary>The raw Philox4x32-10 bijection of <paramref name="counter"/> under the key (k0, k1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Generate(PhiloxBlock counter, uint k0, uint k1)
    {
        uint c0 = counter.X0, c1 = counter.X1, c2 = counter.X2, c3 = counter.X3;
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
            uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        return new PhiloxBlock(c0, c1, c2, c3);
    }

    /// <summary>Block <paramref name="block"/> of stream <paramref name="stream"/> under <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Block(ulong seed, ulong stream, ulong block) =>
        Generate(
            new PhiloxBlock((uint)block, (uint)(block >> 32), (uint)stream, (uint)(stream >> 32)),
            (uint)seed,
            (uint)(seed >> 32));

    /// <summary>Maps 32 random bits to a float in the open interval (0, 1): (k + 1/2) 2^-23, k in [0, 2^23).</summary>
    /// <remarks>Every value is exactly representable; the extremes are 2^-24 and 1 - 2^-24, never 0 or 1.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToUniform(uint bits) => ((int)(bits >> 9) + 0.5f) * (1.0f / 8388608.0f); // int, not uint: an unsigned conversion goes through float64 in IL

    /// <summary>Uniform number <paramref name="index"/> of a stream, in (0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(ulong seed, ulong stream, ulong index)
    {
        var b = Block(seed, stream, index >> 2);
        uint w = (index & 3) switch { 0 => b.X0, 1 => b.X1, 2 => b.X2, _ => b.X3 };
        return ToUniform(w);
    }

    /// <summary>Standard normal number <paramref name="index"/> of a stream (Box-Muller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Normal(ulong seed, ulong stream, ulong index)
    {
        var b = Block(seed, stream, index >> 1);
        return BoxMuller(ToUniform(b.X0), ToUniform(b.X1), (index & 1) != 0);
    }

    /// <summary>One branch of Box-Muller: sqrt(-2 ln u1) cos(2 pi u2), or sin when <paramref name="sine"/>.</summary>
    /// <remarks>
    /// The logarithm, sine and cosine are <see cref="AccurateMath"/>'s (the angle in turns, so 2 pi
    /// u2 is never rounded) and the square root is correctly rounded on every backend: a draw
    /// is within a few ulps of the float64 formula on the same u1 and u2, the same on the CPU
    /// and on a GPU.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BoxMuller(float u1, float u2, bool sine)
    {
        float r = MathF.Sqrt(-2.0f * AccurateMath.Log(u1));
        AccurateMath.SinCos2Pi(u2, out float s, out float c);
        return r * (sine ? s : c);
    }
}
