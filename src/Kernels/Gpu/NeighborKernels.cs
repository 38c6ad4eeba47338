using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Nearest-neighbour counts for the mutual-information estimators, many features in one launch.
/// Values arrive as float32 pairs (hi, lo) with x = hi + lo and distances are
/// <see cref="PairDistance"/>s, so they keep about 48 bits of the float64 input's differences
/// (scikit-learn's 1e-10 tie-breaking noise included).
/// </summary>
/// <remarks>
/// Two searches give the same counts. Brute force (<see cref="NeighborCountsKernel{TDistance}"/>):
/// a group takes <c>Group.DimX</c> samples of one feature and streams every sample j of that
/// feature through shared memory in tiles; the k-th neighbour distance (ties counted with
/// multiplicity) is found in k passes over the samples, each taking the next larger distance and
/// how many samples have it, so no per-thread arrays are needed. Sorted order
/// (<see cref="ClassCountsSortedKernel"/>, <see cref="JointCountsSortedKernel"/>): the host sorts
/// each feature once; a thread per sample finds its k-th neighbour by expanding outwards from its
/// place and counts by galloping and bisecting (see <c>CpuNeighborKernels</c>, which these follow).
/// A sample is inside radius r when its distance d satisfies d &lt; r or d == 0, which is
/// scikit-learn's "d &lt;= nextafter(r, 0)". Counts include the sample itself.
/// </remarks>
internal static class NeighborKernels
{
    /// <summary>Largest group size (the shared-memory tiles hold this many samples).</summary>
    public const int MaxGroupSize = 256;

    /// <summary>Largest k of the sorted joint search (its per-thread list of the k smallest distances).</summary>
    public const int MaxNeighbors = 64;

    /// <summary>
    /// Brute-force counts for features stored feature-major (xHi, xLo: features x n), in the
    /// space of <typeparamref name="TDistance"/>: for sample i of feature f, r = distance to its
    /// k[i]-th nearest neighbour among the samples with its label (itself excluded);
    /// nx[f * n + i] = #{ j : |x_fj - x_fi| inside r } and, where the distance has a y
    /// coordinate (one y for every feature: yHi, yLo of n values), ny[f * n + i] = #{ j : |y_j - y_i| inside r }.
    /// Launch features * groupsPerFeature groups; every k[i] &lt;= kMax. Ross's estimator takes
    /// <see cref="AbsoluteDistance"/> and class labels; KSG takes <see cref="MaxNormDistance"/>,
    /// one label for all and k[i] = k.
    /// </summary>
    public static void NeighborCountsKernel<TDistance>(
        ArrayView<float> xHi, ArrayView<float> xLo, ArrayView<float> yHi, ArrayView<float> yLo,
        ArrayView<int> labels, ArrayView<int> k, ArrayView<int> nx, ArrayView<int> ny,
        int n, int groupsPerFeature, int kMax, TDistance distance)
        where TDistance : struct, INeighborDistance
    {
        var tile = new Tile(
            SharedMemory.Allocate<float>(MaxGroupSize), SharedMemory.Allocate<float>(MaxGroupSize),
            SharedMemory.Allocate<float>(MaxGroupSize), SharedMemory.Allocate<float>(MaxGroupSize),
            SharedMemory.Allocate<int>(MaxGroupSize));
        int feature = Grid.IdxX / groupsPerFeature;
        int i = (Grid.IdxX - feature * groupsPerFeature) * Group.DimX + Group.IdxX;
        bool active = i < n;
        int self = active ? i : n - 1;
        long rowBase = (long)feature * n;
        float xHiI = xHi[rowBase + self];
        float xLoI = xLo[rowBase + self];
        float yHiI = distance.HasY ? yHi[self] : 0f;
        float yLoI = distance.HasY ? yLo[self] : 0f;
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
                int length = tile.Load(start, n, rowBase, distance.HasY, xHi, xLo, yHi, yLo, labels);
                Group.Barrier();
                if (searching)
                {
                    for (int u = 0; u < length; u++)
                    {
                        if (tile.Label[u] != labelI || start + u == i)
                            continue;
                        var d = distance.Between(xHiI, xLoI, yHiI, yLoI, tile.XHi[u], tile.XLo[u], tile.YHi[u], tile.YLo[u]);
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
            int length = tile.Load(start, n, rowBase, distance.HasY, xHi, xLo, yHi, yLo, labels);
            Group.Barrier();
            for (int u = 0; u < length; u++)
            {
                if (PairDistance.Between(xHiI, xLoI, tile.XHi[u], tile.XLo[u]).InsideRadius(radius))
                    insideX++;
                if (distance.HasY && PairDistance.Between(yHiI, yLoI, tile.YHi[u], tile.YLo[u]).InsideRadius(radius))
                    insideY++;
            }
            Group.Barrier();
        }
        if (active)
        {
            nx[rowBase + i] = insideX;
            if (distance.HasY)
                ny[rowBase + i] = insideY;
        }
    }

    /// <summary>
    /// Ross's counts by sorted order, one thread per (feature, entry): entry q of feature f's
    /// class-grouped sorted values (classHi, classLo: features x n; class c holds entries
    /// classStart[c] to classStart[c + 1], ascending) belongs to sample s = classSample[f * n + q],
    /// which sits at classPosition[f * n + q] of the feature's sorted values (sortedHi, sortedLo).
    /// r = distance to the k[s]-th nearest other entry of its class; counts[f * n + s] = #{ j : |x_fj - x_fs| inside r }.
    /// Launch features * n threads.
    /// </summary>
    public static void ClassCountsSortedKernel(
        Index1D index, ArrayView<float> sortedHi, ArrayView<float> sortedLo, ArrayView<float> classHi, ArrayView<float> classLo,
        ArrayView<int> classSample, ArrayView<int> classPosition, ArrayView<int> labels, ArrayView<int> classStart, ArrayView<int> k,
        ArrayView<int> counts, int n)
    {
        int feature = index / n;
        int q = index - feature * n;
        long rowBase = (long)feature * n;
        int s = classSample[rowBase + q];
        int label = labels[s];
        var r = KthSorted(classHi, classLo, rowBase + classStart[label], rowBase + classStart[label + 1], rowBase + q, k[s]);
        counts[rowBase + s] = CountInsideFrom(sortedHi, sortedLo, rowBase, n, classPosition[rowBase + q], r);
    }

    /// <summary>
    /// KSG counts (max-norm) by sorted order, one thread per (feature, place): place p of feature
    /// f's values in ascending x order (xsHi, xsLo, with the y of the same samples ysHi, ysLo:
    /// features x n) holds sample s = xOrder[f * n + p], whose y sits at yPosition[f * n + p] of
    /// the sorted targets (ySortedHi, ySortedLo: n). The samples are visited outwards from p in x
    /// order until |dx| alone reaches the current k-th distance; nx[f * n + s], ny[f * n + s] =
    /// samples inside it in x, in y. Launch features * n threads; k &lt;= <see cref="MaxNeighbors"/>.
    /// </summary>
    public static void JointCountsSortedKernel(
        Index1D index, ArrayView<float> xsHi, ArrayView<float> xsLo, ArrayView<float> ysHi, ArrayView<float> ysLo,
        ArrayView<int> xOrder, ArrayView<float> ySortedHi, ArrayView<float> ySortedLo, ArrayView<int> yPosition,
        ArrayView<int> nx, ArrayView<int> ny, int n, int k)
    {
        var bestHi = LocalMemory.Allocate<float>(MaxNeighbors);
        var bestLo = LocalMemory.Allocate<float>(MaxNeighbors);
        int feature = index / n;
        int p = index - feature * n;
        long rowBase = (long)feature * n;
        for (int t = 0; t < k; t++)
        {
            bestHi[t] = float.PositiveInfinity;
            bestLo[t] = 0f;
        }
        float xHi = xsHi[rowBase + p], xLo = xsLo[rowBase + p];
        float yHi = ysHi[rowBase + p], yLo = ysLo[rowBase + p];
        var infinity = new PairDistance(float.PositiveInfinity, 0f);
        int l = p - 1, r = p + 1;
        while (true)
        {
            var dl = l >= 0 ? PairDistance.Between(xHi, xLo, xsHi[rowBase + l], xsLo[rowBase + l]) : infinity;
            var dr = r < n ? PairDistance.Between(xsHi[rowBase + r], xsLo[rowBase + r], xHi, xLo) : infinity;
            bool left = !dr.LessThan(dl);
            var dx = left ? dl : dr;
            // every sample further out in x is at least dx away: it cannot lower the k-th distance
            if (!dx.LessThan(new PairDistance(bestHi[k - 1], bestLo[k - 1])))
                break;
            int j = left ? l-- : r++;
            var d = PairDistance.Max(dx, PairDistance.Between(ysHi[rowBase + j], ysLo[rowBase + j], yHi, yLo));
            // keep the k smallest distances, ascending (ties keep their multiplicity)
            int slot = k - 1;
            if (!d.LessThan(new PairDistance(bestHi[slot], bestLo[slot])))
                continue;
            while (slot > 0 && d.LessThan(new PairDistance(bestHi[slot - 1], bestLo[slot - 1])))
            {
                bestHi[slot] = bestHi[slot - 1];
                bestLo[slot] = bestLo[slot - 1];
                slot--;
            }
            bestHi[slot] = d.Hi;
            bestLo[slot] = d.Lo;
        }
        var radius = new PairDistance(bestHi[k - 1], bestLo[k - 1]);
        int sample = xOrder[rowBase + p];
        nx[rowBase + sample] = CountInsideFrom(xsHi, xsLo, rowBase, n, p, radius);
        ny[rowBase + sample] = CountInsideFrom(ySortedHi, ySortedLo, 0, n, yPosition[rowBase + p], radius);
    }

    /// <summary>One group's shared-memory tile of samples: x as a pair, y as a pair, the label.</summary>
    private readonly struct Tile(ArrayView<float> xHi, ArrayView<float> xLo, ArrayView<float> yHi, ArrayView<float> yLo, ArrayView<int> label)
    {
        public readonly ArrayView<float> XHi = xHi, XLo = xLo, YHi = yHi, YLo = yLo;
        public readonly ArrayView<int> Label = label;

        /// <summary>Each thread stores sample start + its index (when there is one); returns how many samples the tile holds. Synchronize before reading it.</summary>
        public int Load(int start, int n, long rowBase, bool hasY, ArrayView<float> xHi, ArrayView<float> xLo, ArrayView<float> yHi, ArrayView<float> yLo, ArrayView<int> labels)
        {
            int j = start + Group.IdxX;
            if (j < n)
            {
                XHi[Group.IdxX] = xHi[rowBase + j];
                XLo[Group.IdxX] = xLo[rowBase + j];
                if (hasY)
                {
                    YHi[Group.IdxX] = yHi[j];
                    YLo[Group.IdxX] = yLo[j];
                }
                Label[Group.IdxX] = labels[j];
            }
            return n - start < Group.DimX ? n - start : Group.DimX;
        }
    }

    /// <summary>Distance from entry p to its k-th nearest other entry of the ascending run [lo, hi) (two pointers).</summary>
    private static PairDistance KthSorted(ArrayView<float> hi, ArrayView<float> lo, long first, long end, long p, int k)
    {
        float xHi = hi[p], xLo = lo[p];
        var infinity = new PairDistance(float.PositiveInfinity, 0f);
        long l = p - 1, r = p + 1;
        var d = infinity;
        for (int t = 0; t < k; t++)
        {
            var dl = l >= first ? PairDistance.Between(xHi, xLo, hi[l], lo[l]) : infinity;
            var dr = r < end ? PairDistance.Between(hi[r], lo[r], xHi, xLo) : infinity;
            if (!dr.LessThan(dl))
            {
                d = dl;
                l--;
            }
            else
            {
                d = dr;
                r++;
            }
        }
        return d;
    }

    /// <summary>
    /// #{ j : |v_j - v_p| inside r } over the ascending run of n values at rowBase: outwards from
    /// p with doubling steps on each side, then bisecting the last step.
    /// </summary>
    private static int CountInsideFrom(ArrayView<float> hi, ArrayView<float> lo, long rowBase, int n, int p, PairDistance r)
    {
        float xHi = hi[rowBase + p], xLo = lo[rowBase + p];
        // left: the smallest index within r below p
        int inside = p, step = 1;
        int probe = p - step;
        while (probe >= 0 && PairDistance.Between(xHi, xLo, hi[rowBase + probe], lo[rowBase + probe]).InsideRadius(r))
        {
            inside = probe;
            step <<= 1;
            probe = p - step;
        }
        int a = (probe < 0 ? -1 : probe) + 1, b = inside;
        while (a < b)
        {
            int mid = (a + b) >> 1;
            if (PairDistance.Between(xHi, xLo, hi[rowBase + mid], lo[rowBase + mid]).InsideRadius(r))
                b = mid;
            else
                a = mid + 1;
        }
        int first = a;
        // right: the largest index within r above p
        int last = p;
        step = 1;
        probe = p + step;
        while (probe < n && PairDistance.Between(hi[rowBase + probe], lo[rowBase + probe], xHi, xLo).InsideRadius(r))
        {
            last = probe;
            step <<= 1;
            probe = p + step;
        }
        a = last + 1;
        b = probe < n ? probe : n;
        while (a < b)
        {
            int mid = (a + b) >> 1;
            if (PairDistance.Between(hi[rowBase + mid], lo[rowBase + mid], xHi, xLo).InsideRadius(r))
                a = mid + 1;
            else
                b = mid;
        }
        return a - first;
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
