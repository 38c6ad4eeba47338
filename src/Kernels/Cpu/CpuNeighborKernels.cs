using System.Runtime.CompilerServices;
namespace InfoGpu.Kernels.Cpu;

/// <summary>
/// Nearest-neighbour counts for the mutual-information estimators, in float64 on the host.
/// Two searches give the same counts: brute force (every pair, O(n^2) per feature) and a
/// sorted-order search for one-dimensional features (sort once, find the k-th neighbour by
/// expanding two pointers, count by binary search: O(n log n) per feature).
/// </summary>
/// <remarks>
/// Radius convention (as scikit-learn's, which shrinks the k-th neighbour distance r to the next
/// float towards 0 and counts distances &lt;= that): a sample j is counted when |x_j - x_i| &lt; r,
/// or when the distance is 0. Counts include the sample itself. The k-th neighbour distance
/// counts ties with their multiplicity.
/// </remarks>
internal static class CpuNeighborKernels
{
    /// <summary>Scratch arrays for the sorted searches, reused from feature to feature by one thread (no large allocations per feature).</summary>
    public sealed class Workspace
    {
        internal ulong[] Keys = [], Keys2 = [];
        internal int[] Index = [], Index2 = [], Histogram = [], ClassSample = [], Position = [], Order = [];
        internal double[] Sorted = [], ClassValues = [], Xs = [], Ys = [];

        /// <summary>Grows every array to at least <paramref name="n"/> entries.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Workspace Ensure(int n)
        {
            if (Keys.Length >= n)
                return this;
            Keys = new ulong[n];
            Keys2 = new ulong[n];
            Index = new int[n];
            Index2 = new int[n];
            ClassSample = new int[n];
            Position = new int[n];
            Order = new int[n];
            Sorted = new double[n];
            ClassValues = new double[n];
            Xs = new double[n];
            Ys = new double[n];
            return this;
        }

        private int[] counts = [];
        private int[] counts2 = [];

        /// <summary>A count array of <paramref name="n"/> entries owned by this workspace.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Span<int> Counts(int n)
        {
            if (counts.Length < n)
                counts = new int[n];
            return counts.AsSpan(0, n);
        }

        /// <summary>A second count array of <paramref name="n"/> entries, distinct from <see cref="Counts"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Span<int> Counts2(int n)
        {
            if (counts2.Length < n)
                counts2 = new int[n];
            return counts2.AsSpan(0, n);
        }

        /// <summary>The sort order of the last <see cref="SortOrder(ReadOnlySpan{double}, Workspace)"/> call.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ReadOnlySpan<int> LastOrder(int n) => Order.AsSpan(0, n);
    }

    /// <summary>Sorts <paramref name="values"/> into the workspace; returns the order (valid until the next call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadOnlySpan<int> SortOrder(ReadOnlySpan<double> values, Workspace workspace)
    {
        workspace.Ensure(values.Length);
        SortOrder(values, workspace.Order.AsSpan(0, values.Length), workspace.Sorted.AsSpan(0, values.Length), workspace);
        return workspace.Order.AsSpan(0, values.Length);
    }

    /// <summary>
    /// order = a permutation sorting <paramref name="values"/> ascending (ties in index order),
    /// sorted = the values in that order: LSD radix sort on the order-preserving 64-bit image of
    /// each double, 11 bits per pass, passes whose digit is the same for every value skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SortOrder(ReadOnlySpan<double> values, Span<int> order, Span<double> sorted, Workspace? workspace = null)
    {
        int n = values.Length;
        const int bits = 11, buckets = 1 << bits, passes = (64 + bits - 1) / bits;
        workspace = (workspace ?? new Workspace()).Ensure(n);
        if (workspace.Histogram.Length < passes * buckets)
            workspace.Histogram = new int[passes * buckets];
        var keys = workspace.Keys;
        var keys2 = workspace.Keys2;
        var index = workspace.Index;
        var index2 = workspace.Index2;
        var histogram = workspace.Histogram;
        Array.Clear(histogram);
        for (int i = 0; i < n; i++)
        {
            ulong u = BitConverter.DoubleToUInt64Bits(values[i]);
            ulong key = (u >> 63) != 0 ? ~u : u | 0x8000000000000000UL;
            keys[i] = key;
            index[i] = i;
            for (int p = 0; p < passes; p++)
                histogram[p * buckets + (int)((key >> (p * bits)) & (buckets - 1))]++;
        }
        for (int p = 0; p < passes; p++)
        {
            var h = histogram.AsSpan(p * buckets, buckets);
            int shift = p * bits;
            if (h[(int)((keys[0] >> shift) & (buckets - 1))] == n)
                continue; // every value has the same digit here
            int sum = 0;
            for (int b = 0; b < buckets; b++)
            {
                int c = h[b];
                h[b] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++)
            {
                ulong key = keys[i];
                int dst = h[(int)((key >> shift) & (buckets - 1))]++;
                keys2[dst] = key;
                index2[dst] = index[i];
            }
            (keys, keys2) = (keys2, keys);
            (index, index2) = (index2, index);
        }
        for (int i = 0; i < n; i++)
        {
            order[i] = index[i];
            sorted[i] = values[index[i]];
        }
    }

    /// <summary>True when a sample at distance <paramref name="d"/> is inside the (open) radius <paramref name="r"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Inside(double d, double r) => d < r || d == 0;

    // ---------------------------------------------------------------- continuous vs discrete

    /// <summary>
    /// Ross's counts by brute force: for each sample i, r_i = distance to its k_i-th nearest
    /// neighbour among the samples of its own class (itself excluded), and
    /// counts[i] = #{ j : |x_j - x_i| inside r_i } over all samples (itself included).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ClassCountsBrute(ReadOnlySpan<double> x, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, Span<int> counts) =>
        CountsBrute<AbsoluteDistance>(x, default, labels, k, 0, counts, default);

    /// <summary>
    /// Brute-force counts in the space of <typeparamref name="TDistance"/>: for each sample i,
    /// r_i = distance to its k_i-th nearest neighbour (itself excluded; only samples with its
    /// label when <paramref name="labels"/> is not empty); nx[i] = #{ j : |x_j - x_i| inside r_i }
    /// and, where the distance has a y coordinate, ny[i] = #{ j : |y_j - y_i| inside r_i }.
    /// k_i = <paramref name="k"/>[i], or <paramref name="kAll"/> when <paramref name="k"/> is empty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CountsBrute<TDistance>(
        ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int kAll, Span<int> nx, Span<int> ny)
        where TDistance : struct, INeighborDistance
    {
        var distance = default(TDistance);
        int n = x.Length;
        bool classes = !labels.IsEmpty;
        Span<double> scratch = stackalloc double[64];
        for (int i = 0; i < n; i++)
        {
            var best = scratch[..(k.IsEmpty ? kAll : k[i])];
            best.Fill(double.PositiveInfinity);
            double xi = x[i], yi = distance.HasY ? y[i] : 0;
            int li = classes ? labels[i] : 0;
            for (int j = 0; j < n; j++)
            {
                if (j == i || (classes && labels[j] != li))
                    continue;
                Insert(best, distance.Between(xi, yi, x[j], distance.HasY ? y[j] : 0));
            }
            double r = best[^1];
            int cx = 0, cy = 0;
            for (int j = 0; j < n; j++)
            {
                if (Inside(Math.Abs(x[j] - xi), r))
                    cx++;
                if (distance.HasY && Inside(Math.Abs(y[j] - yi), r))
                    cy++;
            }
            nx[i] = cx;
            if (distance.HasY)
                ny[i] = cy;
        }
    }

    /// <summary>Keeps the k smallest values seen, ascending (ties keep their multiplicity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Insert(Span<double> best, double d)
    {
        int p = best.Length - 1;
        if (!(d < best[p]))
            return;
        while (p > 0 && best[p - 1] > d)
        {
            best[p] = best[p - 1];
            p--;
        }
        best[p] = d;
    }

    /// <summary>
    /// The same counts as <see cref="ClassCountsBrute"/> by sorted order. <paramref name="order"/> is
    /// a permutation sorting x ascending (its ties in any order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ClassCountsSorted(ReadOnlySpan<double> x, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, ReadOnlySpan<int> order, int classes, Span<int> counts, Workspace? workspace = null)
    {
        int n = x.Length;
        workspace = (workspace ?? new Workspace()).Ensure(n);
        var sorted = workspace.Sorted;
        for (int p = 0; p < n; p++)
            sorted[p] = x[order[p]];
        var start = ClassStarts(labels, classes);
        var classValues = workspace.ClassValues;
        var classSample = workspace.ClassSample;
        var position = workspace.Position;
        SplitByClass(sorted.AsSpan(0, n), order, labels, start, classValues, classSample, position);
        for (int c = 0; c < classes; c++)
        {
            int lo = start[c], hi = start[c + 1];
            var values = classValues.AsSpan(lo, hi - lo);
            for (int p = 0; p < values.Length; p++)
            {
                int s = classSample[lo + p];
                double r = KthSorted(values, p, k[s]);
                counts[s] = CountInsideFrom(sorted.AsSpan(0, n), position[s], r);
            }
        }
    }

    /// <summary>start[c] = the first place of class c when samples are grouped by label (start[classes] = n).</summary>
    public static int[] ClassStarts(ReadOnlySpan<int> labels, int classes)
    {
        var start = new int[classes + 1];
        foreach (int l in labels)
            start[l + 1]++;
        for (int c = 0; c < classes; c++)
            start[c + 1] += start[c];
        return start;
    }

    /// <summary>
    /// A stable split of the sorted order by class: class c's values, ascending, at
    /// classValues[start[c]..start[c + 1]), with the sample each came from in classSample;
    /// position[s] = the place of sample s in <paramref name="order"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SplitByClass(
        ReadOnlySpan<double> sorted, ReadOnlySpan<int> order, ReadOnlySpan<int> labels, ReadOnlySpan<int> start,
        Span<double> classValues, Span<int> classSample, Span<int> position)
    {
        Span<int> fill = start.Length <= 256 ? stackalloc int[start.Length] : new int[start.Length];
        start.CopyTo(fill);
        for (int p = 0; p < sorted.Length; p++)
        {
            int s = order[p];
            int q = fill[labels[s]]++;
            classValues[q] = sorted[p];
            classSample[q] = s;
            position[s] = p;
        }
    }

    /// <summary>Distance from values[p] to its k-th nearest other entry of the ascending span (two pointers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double KthSorted(ReadOnlySpan<double> values, int p, int k)
    {
        double x = values[p];
        int l = p - 1, r = p + 1;
        double d = double.PositiveInfinity;
        for (int t = 0; t < k; t++)
        {
            double dl = l >= 0 ? x - values[l] : double.PositiveInfinity;
            double dr = r < values.Length ? values[r] - x : double.PositiveInfinity;
            if (dl <= dr)
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

    /// <summary>#{ j : |sorted[j] - x| inside r } by two binary searches over the ascending span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountInside(ReadOnlySpan<double> sorted, double x, double r)
    {
        // first index whose value is >= x or within r below x
        int a = 0, b = sorted.Length;
        while (a < b)
        {
            int mid = (a + b) >>> 1;
            double v = sorted[mid];
            if (v >= x || Inside(x - v, r))
                b = mid;
            else
                a = mid + 1;
        }
        int first = a;
        // first index whose value is above x and outside r
        a = first;
        b = sorted.Length;
        while (a < b)
        {
            int mid = (a + b) >>> 1;
            double v = sorted[mid];
            if (v > x && !Inside(v - x, r))
                b = mid;
            else
                a = mid + 1;
        }
        return a - first;
    }

    /// <summary>
    /// #{ j : |sorted[j] - sorted[p]| inside r }, searching outwards from p with doubling steps,
    /// then bisecting the last step: O(log m) for m samples inside, with local memory access.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int CountInsideFrom(ReadOnlySpan<double> sorted, int p, double r)
    {
        double x = sorted[p];
        // left: the smallest index whose value is within r below x (indices below p have value <= x)
        int inside = p, step = 1;
        while (true)
        {
            int probe = p - step;
            if (probe < 0 || !Inside(x - sorted[probe], r))
            {
                int lo = Math.Max(probe, -1) + 1;
                int hi = inside;
                while (lo < hi)
                {
                    int mid = (lo + hi) >>> 1;
                    if (Inside(x - sorted[mid], r))
                        hi = mid;
                    else
                        lo = mid + 1;
                }
                inside = lo;
                break;
            }
            inside = probe;
            step <<= 1;
        }
        int first = inside;
        // right: one past the largest index whose value is within r above x
        int last = p;
        step = 1;
        int n = sorted.Length;
        while (true)
        {
            int probe = p + step;
            if (probe >= n || !Inside(sorted[probe] - x, r))
            {
                int lo = last + 1;
                int hi = Math.Min(probe, n);
                while (lo < hi)
                {
                    int mid = (lo + hi) >>> 1;
                    if (Inside(sorted[mid] - x, r))
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                last = lo - 1;
                break;
            }
            last = probe;
            step <<= 1;
        }
        return last - first + 1;
    }

    // ---------------------------------------------------------------- continuous vs continuous (KSG)

    /// <summary>
    /// KSG (first algorithm, max-norm) by brute force: r_i = k-th nearest neighbour distance of
    /// (x_i, y_i) in max(|dx|, |dy|), itself excluded; nx[i], ny[i] = samples with |dx|, |dy|
    /// inside r_i (itself included).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void JointCountsBrute(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny) =>
        CountsBrute<MaxNormDistance>(x, y, default, default, k, nx, ny);

    /// <summary>
    /// The same counts as <see cref="JointCountsBrute"/> by sorted order: samples visited in x order
    /// outwards from i until |dx| alone reaches the current k-th distance, counts by binary search.
    /// <paramref name="xOrder"/> sorts x, <paramref name="ySorted"/> is y sorted ascending.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void JointCountsSorted(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<int> xOrder, ReadOnlySpan<double> ySorted, Span<int> nx, Span<int> ny, Workspace? workspace = null)
    {
        int n = x.Length;
        workspace = (workspace ?? new Workspace()).Ensure(n);
        var xs = workspace.Xs;
        var ys = workspace.Ys;
        for (int p = 0; p < n; p++)
        {
            xs[p] = x[xOrder[p]];
            ys[p] = y[xOrder[p]];
        }
        Span<double> best = stackalloc double[64];
        var b = best[..k];
        for (int p = 0; p < n; p++)
        {
            b.Fill(double.PositiveInfinity);
            double xi = xs[p], yi = ys[p];
            int l = p - 1, r = p + 1;
            while (true)
            {
                double dl = l >= 0 ? xi - xs[l] : double.PositiveInfinity;
                double dr = r < n ? xs[r] - xi : double.PositiveInfinity;
                double dx = Math.Min(dl, dr);
                // every sample further out in x is at least dx away: it cannot lower the k-th distance
                if (!(dx < b[k - 1]))
                    break;
                int j = dl <= dr ? l-- : r++;
                Insert(b, Math.Max(dx, Math.Abs(ys[j] - yi)));
            }
            double radius = b[k - 1];
            int s = xOrder[p];
            nx[s] = CountInsideFrom(xs.AsSpan(0, n), p, radius);
            ny[s] = CountInside(ySorted, yi, radius);
        }
    }
}
