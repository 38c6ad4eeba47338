using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.Measures;

/// <summary>
/// Information measures as batched float32 reductions on a <see cref="ComputeDevice"/>:
/// one distribution per row of a row-major matrix, many rows per call, one result per row.
/// The overloads on host spans validate their input, copy it to the device (on ILGPU devices;
/// <c>cpu</c> reduces it in place), run there and return when the results are on the host.
/// The overloads on <see cref="DeviceBuffer{T}"/>s read and write device memory: they queue
/// the kernel and return, with neither a copy nor a synchronization. Summation order is
/// fixed, so results repeat bit for bit on one backend, and both forms give the same bits.
/// </summary>
/// <remarks>
/// <para>
/// Conventions: 0 log 0 = 0; KL(p||q) = +inf where q = 0 &lt; p (exact) unless an epsilon
/// selects the textbook's clipped variant; logits go through log-sum-exp.
/// </para>
/// <para>
/// Threads: an instance holds nothing but its device, so one instance (or several on one
/// device) may be called from any number of threads at once; each call gives what it gives on
/// one thread. With the device-buffer overloads, do not let one call write a buffer (its
/// destination) that another call, or a copy, reads or writes at the same time.
/// </para>
/// </remarks>
public sealed class InformationMeasures
{
    private readonly ComputeDevice device;
    private readonly IComputeBackend backend;

    /// <summary>Measures that run on <paramref name="device"/>. The device is not owned: keep it open while this object is used and dispose it yourself.</summary>
    /// <param name="device">An open device (not null).</param>
    public InformationMeasures(ComputeDevice device)
    {
        this.device = device;
        backend = device.Backend;
    }

    /// <summary>Self-information -log_b p of each probability (+inf at p = 0).</summary>
    public float[] SelfInformation(ReadOnlySpan<float> p, LogBase logBase)
    {
        for (int i = 0; i < p.Length; i++)
        {
            if (!(p[i] >= 0 && p[i] <= 1))
                throw new InfoGpuException($"self-information: p[{i}] = {Distributions.Fmt(p[i])} is not a probability in [0, 1]");
        }
        var result = new float[p.Length];
        backend.SelfInformation(p, result, (float)logBase.Scale);
        return result;
    }

    /// <summary>Entropy H(p) = -sum_j p_j log_b p_j of each row.</summary>
    /// <remarks>Copies the rows to the device and the results back (on ILGPU devices), and waits for them; see <see cref="Entropy(DeviceBuffer{float}, int, int, DeviceBuffer{float}, LogBase)"/> for rows already on the device.</remarks>
    public float[] Entropy(ReadOnlySpan<float> rows, int columns, LogBase logBase, DistributionOptions? options = null)
    {
        var result = new float[RowCount(rows.Length, columns, "entropy")];
        Entropy(rows, columns, result, logBase, options);
        return result;
    }

    /// <summary>Entropy of each row into <paramref name="destination"/> (one value per row).</summary>
    /// <remarks>
    /// The rows are checked while they are reduced: when a row is invalid the call throws and
    /// <paramref name="destination"/> may hold partial results. Copies the rows to the device
    /// and the results back (on ILGPU devices), and waits for them.
    /// </remarks>
    public void Entropy(ReadOnlySpan<float> rows, int columns, Span<float> destination, LogBase logBase, DistributionOptions? options = null)
    {
        CheckedReduce(rows, rows, false, columns, destination, logBase, new EntropyTerm(), "entropy", options);
    }

    /// <summary>Cross-entropy H(p, q) = -sum_j p_j log_b q_j of each row pair (+inf where q = 0 &lt; p).</summary>
    /// <remarks>Copies the rows to the device and the results back (on ILGPU devices), and waits for them.</remarks>
    public float[] CrossEntropy(ReadOnlySpan<float> p, ReadOnlySpan<float> q, int columns, LogBase logBase, DistributionOptions? options = null)
    {
        return CheckedReduce(p, q, columns, logBase, new CrossEntropyTerm(), "cross-entropy", options);
    }

    /// <summary>
    /// KL(p || q) = sum_j p_j log_b(p_j / q_j) of each row pair. Exact (+inf where q = 0 &lt; p)
    /// when <paramref name="epsilon"/> is null; otherwise the textbook's variant with p and q
    /// clipped to [epsilon, 1] and not renormalized.
    /// </summary>
    /// <remarks>Copies the rows to the device and the results back (on ILGPU devices), and waits for them.</remarks>
    public float[] KlDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> q, int columns, LogBase logBase, float? epsilon = null, DistributionOptions? options = null)
    {
        return epsilon is float e
            ? CheckedReduce(p, q, columns, logBase, new KlClippedTerm(CheckEpsilon(e)), "KL divergence", options)
            : CheckedReduce(p, q, columns, logBase, new KlTerm(), "KL divergence", options);
    }

    /// <summary>
    /// Jensen-Shannon divergence (KL(p||m) + KL(q||m)) / 2 with m = (p + q) / 2; with an
    /// epsilon, the clipped KL of the textbook's code.
    /// </summary>
    /// <remarks>Copies the rows to the device and the results back (on ILGPU devices), and waits for them.</remarks>
    public float[] JensenShannon(ReadOnlySpan<float> p, ReadOnlySpan<float> q, int columns, LogBase logBase, float? epsilon = null, DistributionOptions? options = null)
    {
        return epsilon is float e
            ? CheckedReduce(p, q, columns, logBase, new JsClippedTerm(CheckEpsilon(e)), "Jensen-Shannon", options)
            : CheckedReduce(p, q, columns, logBase, new JsTerm(), "Jensen-Shannon", options);
    }

    /// <summary>
    /// Entropy of the first <paramref name="rows"/> rows of <paramref name="p"/> (row-major,
    /// <paramref name="columns"/> wide) into the first <paramref name="rows"/> values of
    /// <paramref name="destination"/>, on the device: the same bits as the span overload.
    /// </summary>
    /// <remarks>
    /// Queues the kernel on the device's buffers and returns: no upload, no download, no
    /// synchronization (on <c>cpu</c> it runs in place before returning). Read the results with
    /// <see cref="DeviceBuffer{T}.CopyTo"/> or <see cref="DeviceBuffer{T}.ToArray"/>, which wait
    /// for the device. Checked on the host: the shape (columns &gt; 0, rows &gt;= 0), that the
    /// inputs hold rows x columns values and the destination rows values, that every buffer
    /// belongs to this object's device, and that the destination is neither input. The rows
    /// themselves are NOT checked to be distributions (that would need a copy to the host), and
    /// there is no normalization: the formula is applied to whatever the rows hold, without an
    /// error (a negative or NaN entry typically gives NaN, a row that does not sum to 1 the
    /// formula's value for it). Check or normalize rows before they reach the device, or use
    /// the span overloads, which check every row.
    /// </remarks>
    public void Entropy(DeviceBuffer<float> p, int rows, int columns, DeviceBuffer<float> destination, LogBase logBase) =>
        DeviceReduce(p, p, rows, columns, destination, logBase, new EntropyTerm(), "entropy");

    /// <summary>Cross-entropy of each row pair of device buffers into <paramref name="destination"/>, on the device (see <see cref="Entropy(DeviceBuffer{float}, int, int, DeviceBuffer{float}, LogBase)"/>).</summary>
    /// <remarks><inheritdoc cref="Entropy(DeviceBuffer{float}, int, int, DeviceBuffer{float}, LogBase)" path="/remarks"/></remarks>
    public void CrossEntropy(DeviceBuffer<float> p, DeviceBuffer<float> q, int rows, int columns, DeviceBuffer<float> destination, LogBase logBase) =>
        DeviceReduce(p, q, rows, columns, destination, logBase, new CrossEntropyTerm(), "cross-entropy");

    /// <summary>KL(p || q) of each row pair of device buffers into <paramref name="destination"/>, on the device; <paramref name="epsilon"/> as in the span overload.</summary>
    /// <remarks><inheritdoc cref="Entropy(DeviceBuffer{float}, int, int, DeviceBuffer{float}, LogBase)" path="/remarks"/></remarks>
    public void KlDivergence(DeviceBuffer<float> p, DeviceBuffer<float> q, int rows, int columns, DeviceBuffer<float> destination, LogBase logBase, float? epsilon = null)
    {
        if (epsilon is float e)
            DeviceReduce(p, q, rows, columns, destination, logBase, new KlClippedTerm(CheckEpsilon(e)), "KL divergence");
        else
            DeviceReduce(p, q, rows, columns, destination, logBase, new KlTerm(), "KL divergence");
    }

    /// <summary>Jensen-Shannon divergence of each row pair of device buffers into <paramref name="destination"/>, on the device; <paramref name="epsilon"/> as in the span overload.</summary>
    /// <remarks><inheritdoc cref="Entropy(DeviceBuffer{float}, int, int, DeviceBuffer{float}, LogBase)" path="/remarks"/></remarks>
    public void JensenShannon(DeviceBuffer<float> p, DeviceBuffer<float> q, int rows, int columns, DeviceBuffer<float> destination, LogBase logBase, float? epsilon = null)
    {
        if (epsilon is float e)
            DeviceReduce(p, q, rows, columns, destination, logBase, new JsClippedTerm(CheckEpsilon(e)), "Jensen-Shannon");
        else
            DeviceReduce(p, q, rows, columns, destination, logBase, new JsTerm(), "Jensen-Shannon");
    }

    /// <summary>The Jensen-Shannon distance: the square root of the divergence (as scipy's <c>jensenshannon</c>).</summary>
    public float[] JensenShannonDistance(ReadOnlySpan<float> p, ReadOnlySpan<float> q, int columns, LogBase logBase, float? epsilon = null, DistributionOptions? options = null)
    {
        var js = JensenShannon(p, q, columns, logBase, epsilon, options);
        for (int i = 0; i < js.Length; i++)
            js[i] = MathF.Sqrt(MathF.Max(js[i], 0f));
        return js;
    }

    /// <summary>
    /// H(X), H(Y), H(X,Y) and what follows (conditional entropies, mutual information) of each
    /// nx-by-ny joint table (tables stored one after another, row-major, rows are X).
    /// </summary>
    /// <remarks>
    /// The float32 path for batches of tables: H(X), H(Y) and H(X,Y) are float32 results, and the
    /// conditional entropies and the mutual information are their differences, so their error is
    /// absolute, not relative: |I32 - I| &lt;= 2^-22 (H(X) + H(Y) + H(X,Y) + 1) in the chosen unit
    /// (checked by a test on random and near-uniform 4x3 tables on cpu and ilgpu-cpu, whose worst
    /// case was 5.4e-8 of that scale). A near-independent table's small I(X;Y) (say 8e-8 nats, next to
    /// entropies near 1) therefore loses most of its digits here; a negative difference is
    /// reported as 0. For one table's exact value use <see cref="InformationMeasures64.Joint"/>,
    /// which is accurate to about 1e-15 relative.
    /// </remarks>
    public JointInformation[] Joint(ReadOnlySpan<float> tables, int nx, int ny, LogBase logBase, DistributionOptions? options = null)
    {
        if (nx <= 0 || ny <= 0)
            throw new InfoGpuException($"joint table: dimensions must be positive (got {nx}x{ny})");
        var t = Distributions.Check(tables, nx * ny, "joint table", options);
        int count = t.Length / (nx * ny);
        var h = new float[3 * count];
        backend.JointEntropies(t, h, count, nx, ny, (float)logBase.Scale);
        var result = new JointInformation[count];
        for (int i = 0; i < count; i++)
            result[i] = new JointInformation(h[3 * i], h[3 * i + 1], h[3 * i + 2]);
        return result;
    }

    /// <summary>
    /// Plug-in entropies and mutual information of paired discrete samples: the joint counts
    /// are built on the device, then reduced as a joint table.
    /// </summary>
    /// <remarks>Float32 as <see cref="Joint"/>, with the same error bound; <see cref="InformationMeasures64.MutualInformation"/> is the exact float64 path.</remarks>
    public JointInformation MutualInformation(ReadOnlySpan<int> x, ReadOnlySpan<int> y, LogBase logBase)
    {
        var (cx, nx, cy, ny) = Samples.EncodePair(x, y);
        var counts = new int[nx * ny];
        backend.JointCounts(cx, cy, counts, nx, ny);
        var table = new float[counts.Length];
        float inv = 1f / x.Length;
        for (int i = 0; i < table.Length; i++)
            table[i] = counts[i] * inv;
        var h = new float[3];
        backend.JointEntropies(table, h, 1, nx, ny, (float)logBase.Scale);
        return new JointInformation(h[0], h[1], h[2]);
    }

    /// <summary>Row-wise softmax exp(x_j - lse(x)), computed through log-sum-exp.</summary>
    public float[] Softmax(ReadOnlySpan<float> logits, int columns) => SoftmaxCore(logits, columns, false);

    /// <summary>Row-wise log-softmax x_j - lse(x).</summary>
    public float[] LogSoftmax(ReadOnlySpan<float> logits, int columns) => SoftmaxCore(logits, columns, true);

    /// <summary>Per-row cross-entropy from logits and integer class targets, optionally label-smoothed.</summary>
    public float[] CrossEntropyFromLogits(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int columns, LabelSmoothing smoothing = default)
    {
        int rows = RowCount(logits.Length, columns, "cross-entropy from logits");
        Distributions.Finite(logits, columns, "logits");
        Samples.CheckTargets(targets, rows, columns);
        smoothing.Validate(columns);
        var losses = new float[rows];
        backend.LogitLoss(logits, targets, losses, rows, columns, (float)smoothing.Epsilon, smoothing.Mode);
        return losses;
    }

    /// <summary>Mean cross-entropy over the batch, as PyTorch's <c>F.cross_entropy</c> (reduction mean).</summary>
    public double CrossEntropyLoss(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int columns, LabelSmoothing smoothing = default) =>
        Mean(CrossEntropyFromLogits(logits, targets, columns, smoothing));

    /// <summary>
    /// KL-divergence loss with batchmean reduction, as PyTorch's <c>F.kl_div(input, target,
    /// reduction="batchmean")</c>: sum over rows of sum_j target_j (ln target_j - input_j), over rows.
    /// The input is log-probabilities, the target probabilities.
    /// </summary>
    public double KlDivLoss(ReadOnlySpan<float> input, ReadOnlySpan<float> target, int columns, DistributionOptions? options = null)
    {
        Distributions.SameShape(input.Length, target.Length, "KL-div loss");
        int rows = RowCount(input.Length, columns, "KL-div loss");
        for (int i = 0; i < input.Length; i++)
        {
            if (float.IsNaN(input[i]) || input[i] > 0)
                throw Distributions.Bad("KL-div loss input", i / columns, $"entry {i % columns} is {Distributions.Fmt(input[i])}; the input must be log-probabilities (<= 0)");
        }
        var t = Distributions.Check(target, columns, "KL-div loss target", options);
        var perRow = new float[rows];
        backend.RowReduce(t, input, perRow, rows, columns, 1f, new KlDivLossTerm());
        double sum = 0;
        foreach (float v in perRow)
            sum += v;
        return rows == 0 ? 0 : sum / rows;
    }

    /// <summary>KL(N(mu, diag(exp(logvar))) || N(0, I)) = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)) per row.</summary>
    public float[] GaussianKl(ReadOnlySpan<float> mu, ReadOnlySpan<float> logVariance, int columns)
    {
        Distributions.SameShape(mu.Length, logVariance.Length, "Gaussian KL");
        int rows = RowCount(mu.Length, columns, "Gaussian KL");
        Distributions.Finite(mu, columns, "Gaussian KL mu");
        Distributions.Finite(logVariance, columns, "Gaussian KL log-variance");
        var result = new float[rows];
        backend.RowReduce(mu, logVariance, result, rows, columns, 1f, new GaussianKlTerm());
        return result;
    }

    private float[] SoftmaxCore(ReadOnlySpan<float> logits, int columns, bool log)
    {
        int rows = RowCount(logits.Length, columns, "softmax");
        Distributions.Finite(logits, columns, "logits");
        var y = new float[logits.Length];
        backend.Softmax(logits, y, rows, columns, log);
        return y;
    }

    private float[] CheckedReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, int columns, LogBase logBase, TTerm term, string what, DistributionOptions? options)
        where TTerm : struct, IRowTerm
    {
        Distributions.SameShape(p.Length, q.Length, what);
        Distributions.Shape(p.Length, columns, what + " p");
        var result = new float[p.Length / columns];
        CheckedReduce(p, q, true, columns, result, logBase, term, what, options);
        return result;
    }

    /// <summary>
    /// Checks the rows and reduces them. Without normalization the check and the reduction are
    /// one pass on the device; only when a row fails (or rows must be normalized) does the full
    /// check run, to name the row and the problem or to make the normalized copy.
    /// </summary>
    private void CheckedReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, bool pair, int columns, Span<float> destination, LogBase logBase, TTerm term,
        string what, DistributionOptions? options)
        where TTerm : struct, IRowTerm
    {
        options ??= DistributionOptions.Default;
        string whatP = pair ? what + " p" : what;
        Distributions.Shape(p.Length, columns, whatP);
        int rows = p.Length / columns;
        if (destination.Length < rows)
            throw new InfoGpuException($"destination holds {destination.Length} values but there are {rows} rows");
        var target = destination[..rows];
        float scale = (float)logBase.Scale;
        if (!options.Normalize && backend.CheckedRowReduce(p, q, target, rows, columns, scale, term, pair, options.SumTolerance))
            return;
        var cp = Distributions.Check(p, columns, whatP, options);
        var cq = pair ? Distributions.Check(q, columns, what + " q", options) : cp;
        backend.RowReduce(cp, cq, target, rows, columns, scale, term);
    }

    /// <summary>Checks the shapes and buffers of a device-resident measure (see the remarks of <see cref="Entropy(DeviceBuffer{float}, int, int, DeviceBuffer{float}, LogBase)"/>), then queues the reduction.</summary>
    private void DeviceReduce<TTerm>(
        DeviceBuffer<float> p, DeviceBuffer<float> q, int rows, int columns, DeviceBuffer<float> destination, LogBase logBase, TTerm term, string what)
        where TTerm : struct, IRowTerm
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(destination);
        if (columns <= 0)
            throw new InfoGpuException($"{what}: the number of columns must be positive (got {columns})");
        if (rows < 0)
            throw new InfoGpuException($"{what}: the number of rows must be >= 0 (got {rows})");
        long values = (long)rows * columns;
        CheckBuffer(p, "p", values);
        CheckBuffer(q, "q", values);
        CheckBuffer(destination, "destination", rows);
        if (ReferenceEquals(destination, p) || ReferenceEquals(destination, q))
            throw new InfoGpuException($"{what}: the destination must be a buffer of its own, not an input");
        backend.RowReduce(p, q, destination, rows, columns, (float)logBase.Scale, term);

        void CheckBuffer(DeviceBuffer<float> buffer, string name, long need)
        {
            if (buffer.Device.Backend != backend)
                throw new InfoGpuException($"{what}: {name} was allocated on another device than this object's ({device.Info.Kind})");
            if (buffer.Length < need)
                throw new InfoGpuException($"{what}: {name} holds {buffer.Length} values but {rows} rows of {columns} need {need}");
        }
    }

    private static int RowCount(int length, int columns, string what)
    {
        Distributions.Shape(length, columns, what);
        return length / columns;
    }

    private static float CheckEpsilon(float e) =>
        e > 0 && e < 1 ? e : throw new InfoGpuException($"epsilon {e} is out of range: use 0 < epsilon < 1 (the textbook uses 1e-10)");

    internal static double Mean(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
            sum += v;
        return values.Length == 0 ? 0 : sum / values.Length;
    }
}
