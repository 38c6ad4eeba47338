namespace InfoGpu.Measures;

/// <summary>Checks and encodings for discrete samples and class targets.</summary>
internal static class Samples
{
    /// <summary>Maps arbitrary integer labels to codes 0..k-1 (in increasing label order).</summary>
    public static (int[] Codes, int Count) Encode(ReadOnlySpan<int> values, string what)
    {
        if (values.Length == 0)
            throw new InfoGpuException($"{what}: no samples; give at least one value");
        var distinct = values.ToArray();
        Array.Sort(distinct);
        int k = 0;
        for (int i = 0; i < distinct.Length; i++)
        {
            if (i == 0 || distinct[i] != distinct[k - 1])
                distinct[k++] = distinct[i];
        }
        var codes = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
            codes[i] = Array.BinarySearch(distinct, 0, k, values[i]);
        return (codes, k);
    }

    /// <summary>The codes of paired samples x and y (<see cref="Encode"/>), checked to be of equal length.</summary>
    public static (int[] X, int CountX, int[] Y, int CountY) EncodePair(ReadOnlySpan<int> x, ReadOnlySpan<int> y)
    {
        var (cx, nx) = Encode(x, "x");
        var (cy, ny) = Encode(y, "y");
        CheckPaired(x.Length, y.Length);
        return (cx, nx, cy, ny);
    }

    public static void CheckPaired(int nx, int ny)
    {
        if (nx != ny)
            throw new InfoGpuException($"mutual information: x has {nx} samples but y has {ny}; give paired samples of equal length");
    }

    public static void CheckTargets(ReadOnlySpan<int> targets, int rows, int classes)
    {
        if (targets.Length != rows)
            throw new InfoGpuException($"targets: {targets.Length} targets for {rows} rows of logits; give one class index per row");
        for (int i = 0; i < targets.Length; i++)
        {
            if ((uint)targets[i] >= (uint)classes)
                throw new InfoGpuException($"targets: row {i} has class {targets[i]}, outside 0..{classes - 1}");
        }
    }
}
