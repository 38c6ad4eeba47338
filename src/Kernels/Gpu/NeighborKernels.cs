using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Brute-force nearest-neighbour counts for the mutual-information estimators, many features
/// in one launch. A group takes <c>Group.DimX</c> samples of one feature and streams every
/// sample j of that feature through shared memory in tiles. Values arrive as float32 pairs
/// (hi, lo) with x = hi + lo and distances are <see cref="PairDistance"/>s, so they keep about
/// 48 bits of the float64 input's differences (scikit-learn's 1e-10 tie-breaking noise included).
/// </summary>
/// <remarks>
/// The k-th neighbour distance (ties counted with multiplicity) is found in k passes over the
/// samples, each taking the next larger distance and how many samples have it, so no per-thread
/// arrays are needed. A sample is inside radius r when its distance d satisfies d &lt; r or d == 0,
/// which is scikit-learn's "d &lt;= nextafter(r, 0)". Counts include the sample itself.
/// </remarks>
internal static class NeighborKernels
{
    /// <summary>Largest group size (the shared-memory tiles hold this many samples).</summary>
    public const int MaxGroupSize = 256;

    /// <summary>
    /// Ross's counts for features stored feature-major (hi, lo: features x n): for sample i of
    /// feature f, r = distance to its k[i]-th nearest neighbour with the same label (itself
    /// excluded); counts[f * n + i] = #{ j : |x_fj - x_fi| inside r }. Launch features *
    /// groupsPerFeature groups; every k[i] &lt;= kMax.
    /// </summary>
    public static void ClassCountsKernel(
        ArrayView<float> hi, ArrayView<float> lo, ArrayView<int> labels, ArrayView<int> k, ArrayView<int> counts,
        int n, int groupsPerFeature, int kMax)
    {
        var tileHi = SharedMemory.Allocate<float>(MaxGroupSize);
        var tileLo = SharedMemory.Allocate<float>(MaxGroupSize);
        var tileLabel = SharedMemory.Allocate<int>(MaxGroupSize);
        int feature = Grid.IdxX / groupsPerFeature;
        int i = (Grid.IdxX - feature * groupsPerFeature) * Group.DimX + Group.IdxX;
        bool active = i < n;
        int self = active ? i : n - 1;
        long rowBase = (long)feature * n;
        float hiI = hi[rowBase + self];
        float loI = lo[rowBase + self];
        int labelI = labels[self];
        int kI = active ? k[self] : 0;

        var previous = new PairDistance(-1f, 0f);
        int found = 0;
        for (int pass = 0; pass < kMax; pass++)
        {
            var best = new PairDistance(float.PositiveInfinity, 0f);
            int ties = 0;
            bool searching = found < kI;
            for (int start = 0; start < n; start += Group.DimX)
            {
                int j = start + Group.IdxX;
                if (j < n)
                {
                    tileHi[Group.IdxX] = hi[rowBase + j];
                    tileLo[Group.IdxX] = lo[rowBase + j];
                    tileLabel[Group.IdxX] = labels[j];
                }
                Group.Barrier();
                int length = n - start < Group.DimX ? n - start : Group.DimX;
                if (searching)
                {
                    for (int u = 0; u < length; u++)
                    {
                        if (tileLabel[u] != labelI || start + u == i)
                            continue;
                        var d = PairDistance.Between(hiI, loI, tileHi[u], tileLo[u]);
                        if (previous.LessThan(d))
                        {
                            if (d.LessThan(best))
                            {
                                best = d;
                                ties = 1;
                            }
                            else if (d.SameAs(best))
                            {
                                ties++;
                            }
                        }
                    }
                }
                Group.Barrier();
            }
            if (searching)
            {
                found += ties;
                previous = best;
            }
        }

        var radius = previous;
        int inside = 0;
        for (int start = 0; start < n; start += Group.DimX)
        {
            int j = start + Group.IdxX;
            if (j < n)
            {
                tileHi[Group.IdxX] = hi[rowBase + j];
                tileLo[Group.IdxX] = lo[rowBase + j];
            }
            Group.Barrier();
            int length = n - start < Group.DimX ? n - start : Group.DimX;
            for (int u = 0; u < length; u++)
            {
                if (PairDistance.Between(hiI, loI, tileHi[u], tileLo[u]).InsideRadius(radius))
                    inside++;
            }
            Group.Barrier();
        }
        if (active)
            counts[rowBase + i] = inside;
    }

    /// <summary>
    /// KSG counts (first algorithm, max-norm) for features stored feature-major against one
    /// target y: r = k-th nearest neighbour distance of (x_fi, y_i) in max(|dx|, |dy|), itself
    /// excluded; nx[f * n + i], ny[f * n + i] = samples with |dx|, |dy| inside r. Launch features *
    /// groupsPerFeature groups.
    /// </summary>
    public static void JointCountsKernel(
        ArrayView<float> xHi, ArrayView<float> xLo, ArrayView<float> yHi, ArrayView<float> yLo,
        ArrayView<int> nx, ArrayView<int> ny, int n, int groupsPerFeature, int k)
    {
        var tileXHi = SharedMemory.Allocate<float>(MaxGroupSize);
        var tileXLo = SharedMemory.Allocate<float>(MaxGroupSize);
        var tileYHi = SharedMemory.Allocate<float>(MaxGroupSize);
        var tileYLo = SharedMemory.Allocate<float>(MaxGroupSize);
        int feature = Grid.IdxX / groupsPerFeature;
        int i = (Grid.IdxX - feature * groupsPerFeature) * Group.DimX + Group.IdxX;
        bool active = i < n;
        int self = active ? i : n - 1;
        long rowBase = (long)feature * n;
        float xHiI = xHi[rowBase + self];
        float xLoI = xLo[rowBase + self];
        float yHiI = yHi[self];
        float yLoI = yLo[self];

        var previous = new PairDistance(-1f, 0f);
        int found = 0;
        for (int pass = 0; pass < k; pass++)
        {
            var best = new PairDistance(float.PositiveInfinity, 0f);
            int ties = 0;
            bool searching = active && found < k;
            for (int start = 0; start < n; start += Group.DimX)
            {
                int j = start + Group.IdxX;
                if (j < n)
                {
                    tileXHi[Group.IdxX] = xHi[rowBase + j];
                    tileXLo[Group.IdxX] = xLo[rowBase + j];
                    tileYHi[Group.IdxX] = yHi[j];
                    tileYLo[Group.IdxX] = yLo[j];
                }
                Group.Barrier();
                int length = n - start < Group.DimX ? n - start : Group.DimX;
                if (searching)
                {
                    for (int u = 0; u < length; u++)
                    {
                        if (start + u == i)
                            continue;
                        var d = PairDistance.Max(
                            PairDistance.Between(xHiI, xLoI, tileXHi[u], tileXLo[u]),
                            PairDistance.Between(yHiI, yLoI, tileYHi[u], tileYLo[u]));
                        if (previous.LessThan(d))
                        {
                            if (d.LessThan(best))
                            {
                                best = d;
                                ties = 1;
                            }
                            else if (d.SameAs(best))
                            {
                                ties++;
                            }
                        }
                    }
                }
                Group.Barrier();
            }
            if (searching)
            {
                found += ties;
                previous = best;
            }
        }

        var radius = previous;
        int insideX = 0, insideY = 0;
        for (int start = 0; start < n; start += Group.DimX)
        {
            int j = start + Group.IdxX;
            if (j < n)
            {
                tileXHi[Group.IdxX] = xHi[rowBase + j];
                tileXLo[Group.IdxX] = xLo[rowBase + j];
                tileYHi[Group.IdxX] = yHi[j];
                tileYLo[Group.IdxX] = yLo[j];
            }
            Group.Barrier();
            int length = n - start < Group.DimX ? n - start : Group.DimX;
            for (int u = 0; u < length; u++)
            {
                if (PairDistance.Between(xHiI, xLoI, tileXHi[u], tileXLo[u]).InsideRadius(radius))
                    insideX++;
                if (PairDistance.Between(yHiI, yLoI, tileYHi[u], tileYLo[u]).InsideRadius(radius))
                    insideY++;
            }
            Group.Barrier();
        }
        if (active)
        {
            nx[rowBase + i] = insideX;
            ny[rowBase + i] = insideY;
        }
    }

    /// <summary>
    /// sums[f] = sum over i of psi[a[f * n + i]] (+ psi[b[f * n + i]] when <paramref name="two"/> is 1),
    /// psi given as float32 pairs and summed as <see cref="FloatPairSum"/> (about 48 bits): one
    /// group per feature, a fixed-order tree in shared memory. Launch features groups of a
    /// power-of-two size at most <see cref="MaxGroupSize"/>.
    /// </summary>
    public static void DigammaSumKernel(
        ArrayView<int> a, ArrayView<int> b, ArrayView<float> psiHi, ArrayView<float> psiLo,
        ArrayView<float> sumHi, ArrayView<float> sumLo, int n, int two)
    {
        var partialHi = SharedMemory.Allocate<float>(MaxGroupSize);
        var partialLo = SharedMemory.Allocate<float>(MaxGroupSize);
        long rowBase = (long)Grid.IdxX * n;
        var sum = new FloatPairSum(0f, 0f);
        for (int i = Group.IdxX; i < n; i += Group.DimX)
        {
            int c = a[rowBase + i];
            sum = sum.Add(psiHi[c], psiLo[c]);
            if (two != 0)
            {
                int d = b[rowBase + i];
                sum = sum.Add(psiHi[d], psiLo[d]);
            }
        }
        partialHi[Group.IdxX] = sum.Hi;
        partialLo[Group.IdxX] = sum.Lo;
        Group.Barrier();
        for (int stride = Group.DimX / 2; stride > 0; stride >>= 1)
        {
            if (Group.IdxX < stride)
            {
                var merged = new FloatPairSum(partialHi[Group.IdxX], partialLo[Group.IdxX]).Add(partialHi[Group.IdxX + stride], partialLo[Group.IdxX + stride]);
                partialHi[Group.IdxX] = merged.Hi;
                partialLo[Group.IdxX] = merged.Lo;
            }
            Group.Barrier();
        }
        if (Group.IdxX == 0)
        {
            sumHi[Grid.IdxX] = partialHi[0];
            sumLo[Grid.IdxX] = partialLo[0];
        }
    }
}
