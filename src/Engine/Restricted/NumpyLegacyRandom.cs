namespace InfoGpu.Restricted;

/// <summary>
/// numpy's legacy <c>np.random.RandomState(seed)</c> generator (MT19937 seeded by
/// init_genrand) and its <c>randint(low, high, size)</c>, so that the pseudo-log-likelihood
/// flips the same pixels as scikit-learn's <c>BernoulliRBM.score_samples</c> and the peers.
/// </summary>
/// <remarks>
/// randint with a range r = high - 1 - low below 2^32 draws 32-bit outputs, masks them with the
/// smallest 2^k - 1 &gt;= r and rejects values above r (numpy's masked rejection, the legacy default).
/// </remarks>
public sealed class NumpyLegacyRandom
{
    private const int N = 624, M = 397;
    private readonly uint[] mt = new uint[N];
    private int index;

    /// <summary>Seeds the generator as numpy's RandomState(seed) does for an integer seed (init_genrand).</summary>
    public NumpyLegacyRandom(uint seed)
    {
        mt[0] = seed;
        for (int i = 1; i < N; i++)
            mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint)i;
        index = N;
    }

    /// <summary>The next 32-bit output of MT19937.</summary>
    public uint NextUInt32()
    {
        if (index >= N)
            Twist();
        uint y = mt[index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>numpy's <c>RandomState(seed).randint(low, high, count)</c> (high exclusive).</summary>
    public int[] RandInt(int low, int high, int count)
    {
        if (high <= low)
            throw new ArgumentOutOfRangeException(nameof(high), "high must exceed low");
        uint range = (uint)(high - 1 - low);
        uint mask = range;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        var result = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (range == 0)
            {
                result[i] = low;
                continue;
            }
            uint v;
            while ((v = NextUInt32() & mask) > range)
            {
            }
            result[i] = low + (int)v;
        }
        return result;
    }

    private void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (mt[i] & 0x80000000u) | (mt[(i + 1) % N] & 0x7fffffffu);
            uint next = mt[(i + M) % N] ^ (y >> 1);
            if ((y & 1) != 0)
                next ^= 0x9908b0dfu;
            mt[i] = next;
        }
        index = 0;
    }
}
