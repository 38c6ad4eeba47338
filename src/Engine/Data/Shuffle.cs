using InfoGpu.Kernels;

namespace InfoGpu.Data;

/// <summary>Seeded shuffling: the same (seed, epoch) always gives the same order, on every machine.</summary>
public static class Shuffle
{
    /// <summary>Philox stream reserved for data order.</summary>
    private const ulong Stream = 0x5A0FF1E;

    /// <summary>A permutation of 0..n-1 by Fisher-Yates driven by Philox (seed, stream, epoch).</summary>
    public static int[] Permutation(int n, ulong seed, ulong epoch)
    {
        var order = new int[n];
        Permute(order, seed, epoch);
        return order;
    }

    /// <summary>Fills <paramref name="order"/> with a permutation of 0..Length-1 without allocating.</summary>
    public static void Permute(Span<int> order, ulong seed, ulong epoch)
    {
        for (int i = 0; i < order.Length; i++)
            order[i] = i;
        ulong counterBase = epoch << 32;
        for (int i = order.Length - 1; i > 0; i--)
        {
            // 64 random bits per draw keep the modulo bias below 2^-32 for any n < 2^31.
            var block = Philox.Block(seed, Stream, counterBase + (ulong)i);
            ulong r = ((ulong)block.X0 << 32) | block.X1;
            int j = (int)(r % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
