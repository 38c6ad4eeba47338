namespace InfoGpu.Kernels.Cpu;

/// <summary>Philox fills on the CPU: the same numbers as <see cref="Gpu.RandomKernels"/>.</summary>
public static class CpuRandom
{
    /// <summary>output[i] = Philox.Uniform(seed, stream, offset + i).</summary>
    public static void Uniform(Span<float> output, ulong seed, ulong stream, long offset)
    {
        // Whole blocks give four uniforms each; the ragged ends go one at a time.
        int i = 0;
        for (; i < output.Length && ((offset + i) & 3) != 0; i++)
            output[i] = Philox.Uniform(seed, stream, (ulong)(offset + i));
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

    /// <summary>output[i] = Philox.Normal(seed, stream, offset + i).</summary>
    public static void Normal(Span<float> output, ulong seed, ulong stream, long offset)
    {
        for (int i = 0; i < output.Length; i++)
            output[i] = Philox.Normal(seed, stream, (ulong)(offset + i));
    }
}
