using System.Diagnostics;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Kernels;
using InfoGpu.Measures;

namespace InfoGpu.Selection;

/// <summary>
/// Mutual-information feature selection with scikit-learn's estimators
/// (<c>mutual_info_classif</c> and <c>mutual_info_regression</c>) on one device.
/// </summary>
/// <remarks>
/// <para>Preprocessing, as scikit-learn: each continuous column (and a continuous target) is divided
/// by its standard deviation (population, no centring; 1 when it is 0), then, unless
/// <see cref="MutualInformationOptions.Noise"/> is off, 1e-10 * max(1, mean|x|) * N(0, 1) is added
/// (Philox normals of the seed; stream 0 for features, stream 1 for the target).</para>
/// <para>Continuous feature, discrete target (Ross 2014): samples whose class has one member are
/// dropped (N samples left); k_i = min(k, N_c - 1) for a sample of class c with N_c members;
/// r_i = distance to the k_i-th nearest neighbour of the same class; m_i = samples of any class
/// within r_i (itself included, radius open as scikit-learn's nextafter(r, 0));
/// I = psi(N) + &lt;psi(k_i)&gt; - &lt;psi(N_c)&gt; - &lt;psi(m_i)&gt;.</para>
/// <para>Continuous feature, continuous target (Kraskov et al. 2004, first algorithm, max-norm):
/// r_i = k-th neighbour distance in max(|dx|, |dy|); n_x,i, n_y,i = samples within r_i in x, in y
/// (itself included); I = psi(n) + psi(k) - &lt;psi(n_x,i)&gt; - &lt;psi(n_y,i)&gt;.</para>
/// <para>Discrete feature, discrete target: the contingency-table MI sum p(x,y) ln(p(x,y) / (p(x) p(y))).
/// Discrete feature, continuous target: Ross with the roles exchanged. Every score is clipped at 0, in nats.</para>
/// <para>Searches: every neighbour search and count, brute force or sorted order, runs on the
/// device's backend (float32 pairs hi + lo on ILGPU, float64 on <c>cpu</c>), one call for all
/// continuous features, and the digamma sums of its counts there too (on ILGPU float32 pairs
/// carrying about 48 bits from a float64 table; one sum per feature comes back). The joint
/// counts of discrete pairs are made by the backend as well.</para>
/// </remarks>
public sealed class MutualInformationSelector
{
    /// <summary>Up to this many samples <see cref="NeighborSearch.Auto"/> uses brute force on a GPU.</summary>
    public const int BruteForceLimit = 150_000;

    /// <summary>Largest accepted k.</summary>
    public const int MaxNeighbors = 64;

    private const double MachineEpsilon = 2.220446049250313e-16;

    private readonly ComputeDevice device;

    /// <summary>A selector whose searches run on <paramref name="device"/> (not owned: keep it open while selecting).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="device"/> is null.</exception>
    public MutualInformationSelector(ComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        this.device = device;
    }

    /// <summary>The search <paramref name="search"/> resolves to on a device of <paramref name="kind"/> for <paramref name="samples"/> rows: "brute" or "sorted".</summary>
    public static string ChooseMethod(DeviceKind kind, int samples, NeighborSearch search) => search switch
    {
        NeighborSearch.Brute => "brute",
        NeighborSearch.Sorted => "sorted",
        // On the cpu backend sorting is O(n log n) against brute force's O(n^2): it wins from a
        // few dozen rows on. On a GPU brute force wins up to about BruteForceLimit rows. The
        // ILGPU CPU accelerator simulates the brute-force kernel's group barriers thread by
        // thread (8 s for 200 x 20 on 2 cores, against 50 ms for its sorted search): it takes
        // the sorted search unless asked for brute force.
        _ => kind switch
        {
            DeviceKind.Cpu => samples <= 32 ? "brute" : "sorted",
            DeviceKind.IlgpuCpu => "sorted",
            _ => samples <= BruteForceLimit ? "brute" : "sorted",
        },
    };

    /// <summary>Scores every feature column against the target. Synchronizes with the device.</summary>
    /// <param name="features">samples x featureCount, row-major.</param>
    /// <param name="samples">Rows.</param>
    /// <param name="featureCount">Feature columns.</param>
    /// <param name="target">One value per row: integer class labels, or a continuous value with <see cref="MutualInformationOptions.Regression"/>.</param>
    /// <param name="options">Settings (null: scikit-learn's defaults, classification).</param>
    /// <param name="cluster">
    /// The MPI ranks that share the features (null: this process scores them all): rank r scores the
    /// features of <see cref="Cluster.ShareOf"/>(featureCount, size, r) and every rank gets every
    /// score (each computed by one rank, exactly as one process computes it) and the same result.
    /// A collective call: every rank calls it with the same input.
    /// </param>
    public MutualInformationResult Select(ReadOnlySpan<double> features, int samples, int featureCount, ReadOnlySpan<double> target, MutualInformationOptions? options = null, Cluster? cluster = null)
    {
        options ??= new MutualInformationOptions();
        cluster ??= Cluster.Single;
        long t0 = Stopwatch.GetTimestamp();
        var (scores, method) = ScoreShare(features, samples, featureCount, target, options, cluster.Rank, cluster.Size);
        if (cluster.Size > 1)
        {
            // Each rank's scores, zero outside its share; every feature's score is taken from the rank that owns it.
            var all = new double[(long)featureCount * cluster.Size];
            cluster.AllGather(scores, all);
            for (int r = 0; r < cluster.Size; r++)
            {
                var (f0, fn) = Cluster.ShareOf(featureCount, cluster.Size, r);
                all.AsSpan(r * featureCount + f0, fn).CopyTo(scores.AsSpan(f0));
            }
        }
        var discrete = new bool[featureCount];
        foreach (int d in options.DiscreteFeatures ?? [])
            discrete[d] = true;
        int[] ranking = Rank(scores);
        int top = Math.Min(options.Top, featureCount);
        return new MutualInformationResult(scores, ranking, ranking[..top], discrete, method, samples, Stopwatch.GetElapsedTime(t0).TotalSeconds)
        {
            Warnings = Warnings(features, samples, featureCount, target, options),
        };
    }

    /// <summary>What the input holds that a careful reader should know: constant features, classes with a single member (the same on every rank).</summary>
    private static List<string> Warnings(ReadOnlySpan<double> features, int samples, int featureCount, ReadOnlySpan<double> target, MutualInformationOptions options)
    {
        var warnings = new List<string>();
        for (int f = 0; f < featureCount && samples > 0; f++)
        {
            int r = 1;
            while (r < samples && features[r * featureCount + f] == features[f])
                r++;
            if (r == samples)
                warnings.Add($"feature {f} is constant: it carries no information about the target (score 0)");
        }
        if (!options.Regression && samples > 0)
        {
            var (labels, classes) = Codes(target);
            var sizes = new int[classes];
            foreach (int l in labels)
                sizes[l]++;
            int alone = sizes.Count(c => c == 1);
            if (alone == classes)
                warnings.Add("every class has a single member: a continuous feature's neighbour estimate has no samples to use and scores 0; give several rows per class");
            else if (alone > 0)
                warnings.Add($"{alone} of {classes} classes have a single member: those rows carry no neighbour information and are left out of the continuous features' estimates (as scikit-learn does)");
        }
        return warnings;
    }

    /// <summary>
    /// The scores of the features in share <paramref name="part"/> of <paramref name="parts"/>
    /// (<see cref="Cluster.ShareOf"/>; the others 0), computed as <see cref="Select(ReadOnlySpan{double}, int, int, ReadOnlySpan{double}, MutualInformationOptions?, Cluster?)"/>
    /// computes them for all: a feature's preprocessing and noise do not depend on the split.
    /// </summary>
    internal (double[] Scores, string Method) ScoreShare(ReadOnlySpan<double> features, int samples, int featureCount, ReadOnlySpan<double> target, MutualInformationOptions options, int part, int parts)
    {
        Validate(features, samples, featureCount, target, options);
        var (first, count) = Cluster.ShareOf(featureCount, parts, part);
        bool Mine(int f) => f >= first && f < first + count;
        int k = options.Neighbors;
        var discrete = new bool[featureCount];
        foreach (int d in options.DiscreteFeatures ?? [])
            discrete[d] = true;
        int[] allContinuous = Enumerable.Range(0, featureCount).Where(f => !discrete[f]).ToArray();
        // The noise of continuous column c (counted over all features) is stream 0's block c, whoever scores it.
        int[] noiseIndex = Enumerable.Range(0, allContinuous.Length).Where(c => Mine(allContinuous[c])).ToArray();
        int[] continuous = noiseIndex.Select(c => allContinuous[c]).ToArray();

        // Feature-major columns; continuous ones scaled (and noised) as scikit-learn does.
        var columns = new double[(long)featureCount * samples];
        const int block = 64;
        Transpose(features, columns, samples, featureCount, block);
        Parallel.For(0, continuous.Length, c => Preprocess(columns.AsSpan(continuous[c] * samples, samples), options, 0, noiseIndex[c]));

        string method = ChooseMethod(device.Kind, samples, options.Search);
        var scores = new double[featureCount];
        var psi = SpecialFunctions.DigammaTable(samples + 1);
        if (!options.Regression)
        {
            var (labels, classes) = Codes(target);
            ClassificationScores(columns, samples, continuous, labels, classes, k, method, psi, scores);
            for (int f = 0; f < featureCount; f++)
            {
                if (discrete[f] && Mine(f))
                {
                    var (codes, levels) = Codes(columns.AsSpan(f * samples, samples));
                    scores[f] = ContingencyMi(codes, levels, labels, classes);
                }
            }
        }
        else
        {
            var y = target.ToArray();
            Preprocess(y, options, 1, 0);
            RegressionScores(columns, samples, continuous, y, k, method, psi, scores);
            for (int f = 0; f < featureCount; f++)
            {
                if (discrete[f] && Mine(f))
                {
                    var (codes, levels) = Codes(columns.AsSpan(f * samples, samples));
                    scores[f] = Ross(y, codes, levels, k, method, psi);
                }
            }
        }
        for (int f = 0; f < featureCount; f++)
            scores[f] = Math.Max(0, scores[f]);
        return (scores, method);
    }

    /// <summary>columns[f * samples + i] = features[i * featureCount + f], in blocks of rows, blocks in parallel.</summary>
    private static unsafe void Transpose(ReadOnlySpan<double> features, double[] columns, int samples, int featureCount, int block)
    {
        fixed (double* pinned = features)
        {
            nint address = (nint)pinned; // the span stays pinned until every block is done
            Parallel.For(0, (samples + block - 1) / block, b =>
            {
                var source = (double*)address;
                int i0 = b * block, i1 = Math.Min(samples, i0 + block);
                for (int f = 0; f < featureCount; f++)
                {
                    for (int i = i0; i < i1; i++)
                        columns[(long)f * samples + i] = source[(long)i * featureCount + f];
                }
            });
        }
    }

    /// <summary>Scores every feature of a table against its target. Synchronizes with the device.</summary>
    public MutualInformationResult Select(InfoGpu.Data.FeatureTable data, MutualInformationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Select(data.Features, data.Rows, data.Names.Length, data.Target, options);
    }

    /// <summary>Feature indices by descending score; equal scores keep column order.</summary>
    public static int[] Rank(IReadOnlyList<double> scores) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(f => scores[f]).ThenBy(f => f).ToArray();

    private static void Validate(ReadOnlySpan<double> features, int samples, int featureCount, ReadOnlySpan<double> target, MutualInformationOptions options)
    {
        if (options.Neighbors < 1 || options.Neighbors > MaxNeighbors)
            throw new InfoGpuException($"neighbors = {options.Neighbors}: use a value from 1 to {MaxNeighbors} (scikit-learn's default is 3)");
        if (options.Top < 0)
            throw new InfoGpuException($"top = {options.Top}: use 0 or more features");
        if (featureCount < 1)
            throw new InfoGpuException("no feature columns: the data needs at least one column besides the target");
        if (samples <= options.Neighbors)
            throw new InfoGpuException($"{samples} rows: need more rows than neighbors ({options.Neighbors})");
        if (features.Length != (long)samples * featureCount)
            throw new InfoGpuException($"features hold {features.Length} values, expected rows x columns = {samples} x {featureCount}");
        if (target.Length != samples)
            throw new InfoGpuException($"the target has {target.Length} values for {samples} rows: give one target value per row");
        foreach (int d in options.DiscreteFeatures ?? [])
        {
            if (d < 0 || d >= featureCount)
                throw new InfoGpuException($"discrete feature index {d} is out of range: features are numbered 0 to {featureCount - 1}");
        }
        for (int i = 0; i < features.Length; i++)
        {
            if (!double.IsFinite(features[i]))
                throw new InfoGpuException($"feature {i % featureCount} of row {i / featureCount} is {features[i]}: every value must be finite (drop or impute such rows)");
        }
        for (int i = 0; i < samples; i++)
        {
            if (!double.IsFinite(target[i]))
                throw new InfoGpuException($"the target of row {i} is {target[i]}: every target value must be finite");
            if (!options.Regression && target[i] != Math.Round(target[i]))
                throw new InfoGpuException($"the target of row {i} is {target[i]}, not a class label: classification needs integer labels (use regression for a continuous target)");
        }
    }

    /// <summary>x /= std(x) computed on x / <paramref name="maxAbs"/> (no overflow or underflow at any magnitude); a constant column is left at x / max|x|.</summary>
    private static void ScaleByDeviation(Span<double> x, double maxAbs)
    {
        double mean = 0;
        foreach (double v in x)
            mean += v / maxAbs;
        mean /= x.Length;
        double ss = 0;
        foreach (double v in x)
        {
            double d = v / maxAbs - mean;
            ss += d * d;
        }
        double relative = Math.Sqrt(ss / x.Length);
        if (relative < 10 * MachineEpsilon)
            relative = 1;
        for (int i = 0; i < x.Length; i++)
            x[i] = x[i] / maxAbs / relative;
    }

    /// <summary>Scale by the population standard deviation (no centring), then add the tie-breaking noise.</summary>
    private static void Preprocess(Span<double> x, MutualInformationOptions options, ulong stream, int column)
    {
        double mean = 0;
        foreach (double v in x)
            mean += v;
        mean /= x.Length;
        double ss = 0;
        foreach (double v in x)
            ss += (v - mean) * (v - mean);
        double std = Math.Sqrt(ss / x.Length);
        double maxAbs = 0;
        foreach (double v in x)
            maxAbs = Math.Max(maxAbs, Math.Abs(v));
        if (!double.IsFinite(std) || (std < 10 * MachineEpsilon && maxAbs > 0 && maxAbs < 1))
        {
            // Magnitudes whose squares overflow (|x| ~ 1e160 and up) or underflow (1e-160 and
            // down): compute the deviation of x / max|x|, so that the column is scaled to unit
            // variance like any other and scores do not depend on its units. (scikit-learn's
            // own scaling turns such columns into zeros or leaves them to the noise.)
            ScaleByDeviation(x, maxAbs);
        }
        else
        {
            if (std < 10 * MachineEpsilon)
                std = 1;
            for (int i = 0; i < x.Length; i++)
                x[i] /= std;
        }
        double absMean = 0;
        foreach (double v in x)
            absMean += Math.Abs(v);
        if (!options.Noise)
            return;
        double amplitude = 1e-10 * Math.Max(1, absMean / x.Length);
        // Column c, row i takes normal number 4 * (c * ceil(n / 4) + i / 4) + i % 4 of (seed, stream):
        // one Philox block gives two Box-Muller pairs.
        long blocks = (x.Length + 3) / 4;
        for (int i = 0; i < x.Length; i += 4)
        {
            var b = Philox.Block(options.Seed, stream, (ulong)((long)column * blocks + i / 4));
            var (s0, c0) = BoxMullerPair(Philox.ToUniform(b.X0), Philox.ToUniform(b.X1));
            var (s1, c1) = BoxMullerPair(Philox.ToUniform(b.X2), Philox.ToUniform(b.X3));
            x[i] += amplitude * c0;
            if (i + 1 < x.Length)
                x[i + 1] += amplitude * s0;
            if (i + 2 < x.Length)
                x[i + 2] += amplitude * c1;
            if (i + 3 < x.Length)
                x[i + 3] += amplitude * s1;
        }
    }

    /// <summary>Both Box-Muller normals of two uniforms: r sin(2 pi u2), r cos(2 pi u2) with r = sqrt(-2 ln u1).</summary>
    private static (float Sin, float Cos) BoxMullerPair(float u1, float u2)
    {
        // float32 is plenty for noise of relative size 1e-10
        float r = MathF.Sqrt(-2f * MathF.Log(u1));
        var (sin, cos) = MathF.SinCos(2f * MathF.PI * u2);
        return (r * sin, r * cos);
    }

    /// <summary>Class codes 0..classes-1 of the distinct values, in ascending value order.</summary>
    private static (int[] Codes, int Count) Codes(ReadOnlySpan<double> values)
    {
        var distinct = new SortedSet<double>();
        foreach (double v in values)
            distinct.Add(v);
        var map = new Dictionary<double, int>();
        foreach (double v in distinct)
            map[v] = map.Count;
        var codes = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
            codes[i] = map[values[i]];
        return (codes, map.Count);
    }

    private void ClassificationScores(double[] columns, int n, int[] continuous, int[] labels, int classes, int k, string method, double[] psi, double[] scores)
    {
        if (continuous.Length == 0)
            return;
        var classSize = new int[classes];
        foreach (int l in labels)
            classSize[l]++;
        // Samples alone in their class carry no neighbour information: scikit-learn drops them.
        int[] kept = Enumerable.Range(0, n).Where(i => classSize[labels[i]] > 1).ToArray();
        int m = kept.Length;
        if (m == 0)
            return;
        var keptLabels = new int[m];
        var keptK = new int[m];
        double constant = psi[m];
        for (int p = 0; p < m; p++)
        {
            int l = labels[kept[p]];
            keptLabels[p] = l;
            keptK[p] = Math.Min(k, classSize[l] - 1);
            constant += (psi[keptK[p]] - psi[classSize[l]]) / m;
        }
        double[] values;
        if (m == n && continuous.Length * n == columns.Length)
        {
            values = columns; // nothing dropped, every feature continuous: use the columns as they are
        }
        else
        {
            values = new double[(long)continuous.Length * m];
            for (int c = 0; c < continuous.Length; c++)
            {
                var column = columns.AsSpan(continuous[c] * n, n);
                for (int p = 0; p < m; p++)
                    values[(long)c * m + p] = column[kept[p]];
            }
        }
        // counts and their digamma sums on the device; only one sum per feature comes back
        var sums = new double[continuous.Length];
        device.Backend.ClassNeighborDigammaSums(values, keptLabels, keptK, classes, psi, sums, continuous.Length, m, Method(method));
        for (int c = 0; c < continuous.Length; c++)
            scores[continuous[c]] = constant - sums[c] / m;
    }

    private void RegressionScores(double[] columns, int n, int[] continuous, double[] y, int k, string method, double[] psi, double[] scores)
    {
        if (continuous.Length == 0)
            return;
        var values = new double[(long)continuous.Length * n];
        for (int c = 0; c < continuous.Length; c++)
            columns.AsSpan(continuous[c] * n, n).CopyTo(values.AsSpan(c * n, n));
        var sums = new double[continuous.Length];
        device.Backend.JointNeighborDigammaSums(values, y, k, psi, sums, continuous.Length, n, Method(method));
        for (int c = 0; c < continuous.Length; c++)
            scores[continuous[c]] = psi[n] + psi[k] - sums[c] / n;
    }

    /// <summary>Ross's estimate for one continuous variable against discrete codes.</summary>
    private double Ross(double[] c, int[] codes, int classes, int k, string method, double[] psi)
    {
        var classSize = new int[classes];
        foreach (int l in codes)
            classSize[l]++;
        int[] kept = Enumerable.Range(0, c.Length).Where(i => classSize[codes[i]] > 1).ToArray();
        int m = kept.Length;
        if (m == 0)
            return 0;
        var values = kept.Select(i => c[i]).ToArray();
        var labels = kept.Select(i => codes[i]).ToArray();
        var kk = labels.Select(l => Math.Min(k, classSize[l] - 1)).ToArray();
        var counts = new int[m];
        device.Backend.ClassNeighborCounts(values, labels, kk, classes, counts, 1, m, Method(method));
        double sum = psi[m];
        for (int p = 0; p < m; p++)
            sum += (psi[kk[p]] - psi[classSize[labels[p]]] - psi[counts[p]]) / m;
        return sum;
    }

    /// <summary>The plug-in MI of two code vectors from their joint counts (made by the backend), in nats.</summary>
    private double ContingencyMi(int[] x, int nx, int[] y, int ny)
    {
        var counts = new int[nx * ny];
        device.Backend.JointCounts(x, y, counts, nx, ny);
        return InformationMeasures64.PlugInMutualInformation(counts, nx, ny);
    }

    private static NeighborMethod Method(string method) => method == "brute" ? NeighborMethod.Brute : NeighborMethod.Sorted;
}
