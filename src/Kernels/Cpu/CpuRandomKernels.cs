using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace InfoGpu.Kernels.Cpu;

/// <summary>Philox fills on the CPU: the same numbers as <see cref="Gpu.RandomKernels"/>.</summary>
internal static class CpuRandomKernels
{
    /// <summary>output[i] = Philox.Uniform(seed, stream, offset + i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Uniform(Span<float> output, ulong seed, ulong stream, long offset)
    {
        // Whole blocks give four uniforms each; the ragged ends go one at a time.
        int i = 0;
        for (; i < output.Length && ((offset + i) & 3) != 0; i++)
            output[i] = Philox.Uniform(seed, stream, (ulong)(offset + i));
        if (Avx2.IsSupported)
        {
            unsafe
            {
                fixed (float* o = output)
                {
                    for (; i + 32 <= output.Length; i += 32)
                        Uniform32(o + i, seed, stream, (ulong)(offset + i) >> 2);
                }
            }
        }
        for (; i + 4 <= output.Length; i += 4)
        {
            var b = Philox.Block(seed, stream, (ulong)(offset + i) >> 2);
            output[i] = Philox.ToUniform(b.X0);
            output[i + 1] = Philox.ToUniform(b.X1);
            output[i + 2] = Philox.ToUniform(b.X2);
            output[i + 3] = Philox.ToUniform(b.X3);
        }
        for (; i < output.Length; i++)
            output[i] = Philox.Uniform(seed, stream, (ulong)(offset + i));
    }

    /// <summary>
    /// The 32 uniforms of Philox blocks <paramref name="block"/> .. block + 7, in order, with
    /// the eight blocks' rounds run side by side in AVX2 lanes (the same arithmetic as
    /// <see cref="Philox.Generate"/>: the 32 x 32 -&gt; 64-bit products come from vpmuludq on
    /// the even and the odd lanes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Uniform32(float* output, ulong seed, ulong stream, ulong block)
    {
        // Lane b holds block + b; the high word carries when the low word wraps.
        var lanes = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u);
        var lo = Vector256.Create((uint)block) + lanes;
        var carry = Vector256.LessThan(lo, Vector256.Create((uint)block)); // all ones where it wrapped
        var c0 = lo;
        var c1 = Vector256.Create((uint)(block >> 32)) - carry;
        var c2 = Vector256.Create((uint)stream);
        var c3 = Vector256.Create((uint)(stream >> 32));
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        var m0 = Vector256.Create(Philox.M0);
        var m1 = Vector256.Create(Philox.M1);
        for (int r = 0; r < 10; r++)
        {
            var hi0 = MulHi(c0, m0);
            var hi1 = MulHi(c2, m1);
            var lo0 = c0 * m0;
            var lo1 = c2 * m1;
            c0 = hi1 ^ c1 ^ Vector256.Create(k0);
            c1 = lo1;
            c2 = hi0 ^ c3 ^ Vector256.Create(k1);
            c3 = lo0;
            k0 += Philox.W0;
            k1 += Philox.W1;
        }
        // Uniforms, then the 4 x 8 (word x block) transpose into block order.
        var u0 = ToUniform(c0);
        var u1 = ToUniform(c1);
        var u2 = ToUniform(c2);
        var u3 = ToUniform(c3);
        var t0 = Avx.UnpackLow(u0, u1);
        var t1 = Avx.UnpackHigh(u0, u1);
        var t2 = Avx.UnpackLow(u2, u3);
        var t3 = Avx.UnpackHigh(u2, u3);
        var r0 = Avx.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle();
        var r1 = Avx.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        var r2 = Avx.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle();
        var r3 = Avx.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
        Avx.Permute2x128(r0, r1, 0x20).Store(output);
        Avx.Permute2x128(r2, r3, 0x20).Store(output + 8);
        Avx.Permute2x128(r0, r1, 0x31).Store(output + 16);
        Avx.Permute2x128(r2, r3, 0x31).Store(output + 24);
    }

    /// <summary>The high 32 bits of each lane's 32 x 32-bit product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> MulHi(Vector256<uint> a, Vector256<uint> m)
    {
        var even = Avx2.Multiply(a, m); // lanes 0, 2, 4, 6 as 64-bit products
        var odd = Avx2.Multiply(Avx2.ShiftRightLogical(a.AsUInt64(), 32).AsUInt32(), m);
        return Avx2.Blend(Avx2.ShiftRightLogical(even, 32).AsUInt32(), odd.AsUInt32(), 0b1010_1010);
    }

    /// <summary><see cref="Philox.ToUniform"/> of eight words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ToUniform(Vector256<uint> bits) =>
        (Vector256.ConvertToSingle(Vector256.ShiftRightLogical(bits, 9).AsInt32()) + Vector256.Create(0.5f)) * Vector256.Create(1.0f / 8388608.0f);

    /// <summary>output[i] = Philox.Normal(seed, stream, offset + i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normal(Span<float> output, ulong seed, ulong stream, long offset)
    {
        for (int i = 0; i < output.Length; i++)
            output[i] = Philox.Normal(seed, stream, (ulong)(offset + i));
    }
}
