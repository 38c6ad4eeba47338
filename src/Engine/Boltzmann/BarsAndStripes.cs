namespace InfoGpu.Boltzmann;

/// <summary>The bars-and-stripes patterns: n x n binary images whose rows are all on or off, or whose columns are.</summary>
public static class BarsAndStripes
{
    /// <summary>Every distinct pattern (2^(n+1) - 2 of them), one row of n*n values per pattern.</summary>
    public static float[] Generate(int size)
    {
        if (size < 2 || size > 5)
            throw new InfoGpuException($"bars-and-stripes size {size} is out of range: use 2 to 5");
        var patterns = new HashSet<string>();
        var rows = new List<float[]>();
        for (int mask = 0; mask < 1 << size; mask++)
        {
            foreach (bool stripes in new[] { true, false })
            {
                var p = new float[size * size];
                for (int r = 0; r < size; r++)
                {
                    for (int c = 0; c < size; c++)
                        p[r * size + c] = ((mask >> (stripes ? r : c)) & 1) != 0 ? 1f : 0f;
                }
                if (patterns.Add(string.Concat(p.Select(v => v > 0 ? '1' : '0'))))
                    rows.Add(p);
            }
        }
        return rows.SelectMany(r => r).ToArray();
    }
}
