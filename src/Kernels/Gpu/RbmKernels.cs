using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Kernels of Bernoulli-RBM training besides the half-sweeps (which are GEMMs with the
/// sigmoid + Bernoulli epilogue): the bias statistics, the fused momentum / weight-decay /
/// sparsity update of all parameters and the per-row monitors. Weights are nv x nh row-major.
/// The reductions are group-parallel (<see cref="GroupLayout"/>): column statistics in column
/// tiles, the monitors in row blocks; each adds in a fixed order for a given group size, not
/// the <c>cpu</c> order, so sums agree with <see cref="Cpu.CpuRbmKernels"/> to float32 rounding.
/// </summary>
internal static class RbmKernels
{
    /// <summary>
    /// Column sums of the stacked rows x[offset..] (rows x cols): sums[j] over the first
    /// <paramref name="split"/> rows (the model's samples), sums[cols + j] over the rest (the
    /// data); then, when <paramref name="scaleFirst"/> is not 1, the first rows are multiplied
    /// by it in place (so one GEMM of the stack gives the difference of the two correlations).
    /// Column tiles: grid = ceil(cols / lanes), shared memory = group size floats.
    /// </summary>
    public static void ColumnStatisticsKernel(ArrayView<float> x, long offset, int rows, int cols, int split, ArrayView<float> sums, float scaleFirst, int lanes) =>
        ColumnStatistics(x, offset, rows, cols, split, sums, 0, scaleFirst, lanes);

    /// <summary>
    /// <see cref="ColumnStatisticsKernel"/> for a grid of models stacked in one buffer (grid
    /// dimension Y = model z): model z's block starts at offset + z <paramref name="xStride"/>
    /// and its sums at z <paramref name="sumsStride"/>; each model's sums have the bits of the
    /// single-model kernel at the same group size.
    /// </summary>
    public static void ColumnStatisticsBatchedKernel(ArrayView<float> x, long offset, long xStride, int rows, int cols, int split, ArrayView<float> sums, long sumsStride, float scaleFirst, int lanes)
    {
        long z = Grid.IdxY;
        ColumnStatistics(x, offset + z * xStride, rows, cols, split, sums, z * sumsStride, scaleFirst, lanes);
    }

    private static void ColumnStatistics(ArrayView<float> x, long offset, int rows, int cols, int split, ArrayView<float> sums, long sumsOffset, float scaleFirst, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int j = GroupLayout.TileColumn(lanes);
        int first = GroupLayout.TileRowLane(lanes);
        int step = GroupLayout.TileRowLanes(lanes);
        float model = 0f, data = 0f;
        if (j < cols)
        {
            for (int r = first; r < rows; r += step)
            {
                long at = offset + (long)r * cols + j;
                float v = x[at];
                if (r < split)
                {
                    model += v;
                    if (scaleFirst != 1f)
                        x[at] = v * scaleFirst;
                }
                else
                {
                    data += v;
                }
            }
        }
        float modelSum = GroupReduce.StridedSum(shared, model, lanes);
        float dataSum = GroupReduce.StridedSum(shared, data, lanes);
        if (j < cols && first == 0)
        {
            sums[sumsOffset + j] = modelSum;
            sums[sumsOffset + cols + j] = dataSum;
        }
    }

    /// <summary>
    /// The whole parameter update of <see cref="RbmMath"/> in one launch, in the order the
    /// separate updates had: the hidden biases and the running mean q, the visible biases, then
    /// the weights with the new q. The first <paramref name="tiles"/> groups are column tiles of
    /// <paramref name="lanes"/> hidden units: row lane 0 of column j updates c_j and q_j and
    /// passes the new q_j through shared memory (a barrier) to the threads of the column, which
    /// update W[i, j] for i = row lane, row lane + row lanes, ...; each column's q is read and
    /// written by its group only. The remaining groups update one visible bias per thread.
    /// Grid = tiles + ceil(nv / group size), shared memory = group size floats.
    /// </summary>
    public static void UpdateKernel(
        ArrayView<float> weights, ArrayView<float> weightVelocity, ArrayView<float> gradient,
        ArrayView<float> visibleBias, ArrayView<float> visibleVelocity, ArrayView<float> visibleSums,
        ArrayView<float> hiddenBias, ArrayView<float> hiddenVelocity, ArrayView<float> hiddenSums,
        ArrayView<float> q, int lanes, int tiles, RbmUpdateArgs u) =>
        Update(weights, weightVelocity, gradient, visibleBias, visibleVelocity, visibleSums, hiddenBias, hiddenVelocity, hiddenSums, q, lanes, tiles, u);

    /// <summary>
    /// <see cref="UpdateKernel"/> for a grid of M models with stacked parameters (grid dimension
    /// Y = model z): model z's W, its velocity and gradient are the z-th blocks of nv x nh values,
    /// its visible and hidden biases, velocities and q the z-th blocks of nv and nh, its column
    /// sums the z-th blocks of 2 nv and 2 nh; its coefficients are <paramref name="shared"/> with
    /// the learning rate, momentum, weight decay and sparsity settings of perModel[z]
    /// (<see cref="RbmMath.ForModel"/>). Each model gets the bits of the single-model kernel.
    /// </summary>
    public static void UpdateBatchedKernel(
        ArrayView<float> weights, ArrayView<float> weightVelocity, ArrayView<float> gradient,
        ArrayView<float> visibleBias, ArrayView<float> visibleVelocity, ArrayView<float> visibleSums,
        ArrayView<float> hiddenBias, ArrayView<float> hiddenVelocity, ArrayView<float> hiddenSums,
        ArrayView<float> q, ArrayView<RbmUpdateArgs> perModel, int lanes, int tiles, RbmUpdateArgs shared)
    {
        int z = Grid.IdxY;
        long nv = shared.Visible, nh = shared.Hidden, nw = nv * nh;
        Update(
            weights.SubView(z * nw, nw), weightVelocity.SubView(z * nw, nw), gradient.SubView(z * nw, nw),
            visibleBias.SubView(z * nv, nv), visibleVelocity.SubView(z * nv, nv), visibleSums.SubView(2 * z * nv, 2 * nv),
            hiddenBias.SubView(z * nh, nh), hiddenVelocity.SubView(z * nh, nh), hiddenSums.SubView(2 * z * nh, 2 * nh),
            q.SubView(z * nh, nh), lanes, tiles, RbmMath.ForModel(shared, perModel[z]));
    }

    private static void Update(
        ArrayView<float> weights, ArrayView<float> weightVelocity, ArrayView<float> gradient,
        ArrayView<float> visibleBias, ArrayView<float> visibleVelocity, ArrayView<float> visibleSums,
        ArrayView<float> hiddenBias, ArrayView<float> hiddenVelocity, ArrayView<float> hiddenSums,
        ArrayView<float> q, int lanes, int tiles, in RbmUpdateArgs u)
    {
        if (Grid.IdxX >= tiles)
        {
            // A whole group takes this branch (no barrier in it).
            int i = (Grid.IdxX - tiles) * Group.DimX + Group.IdxX;
            if (i < u.Visible)
                BiasStep(visibleBias, visibleVelocity, visibleSums, q, i, u.Visible, false, u);
            return;
        }
        var shared = SharedMemory.GetDynamic<float>();
        int j = GroupLayout.TileColumn(lanes);
        int lane = GroupLayout.Lane(lanes);
        int first = GroupLayout.TileRowLane(lanes);
        int step = GroupLayout.TileRowLanes(lanes);
        if (first == 0)
            shared[lane] = j < u.Hidden ? BiasStep(hiddenBias, hiddenVelocity, hiddenSums, q, j, u.Hidden, true, u) : 0f;
        Group.Barrier();
        if (j < u.Hidden)
        {
            float qj = shared[lane];
            for (int i = first; i < u.Visible; i += step)
            {
                long k = (long)i * u.Hidden + j;
                float w = weights[k];
                float g = gradient[k] - u.WeightDecay * w;
                if (u.SparsityCost > 0f)
                    g -= u.SparsityCost * (qj - u.SparsityTarget) * visibleSums[u.Visible + i] * u.PositiveScale;
                float vel = weightVelocity[k];
                weights[k] = RbmMath.Step(w, ref vel, g, u.LearningRate, u.Momentum);
                weightVelocity[k] = vel;
            }
        }
    }

    /// <summary>
    /// The bias update of unit j of a layer of n units from its column sums (model sums at [j],
    /// data sums at [n + j]); for the hidden layer also the running mean q and the sparsity
    /// term. Returns q_j after the update (the hidden layer with sparsity), else 0.
    /// </summary>
    private static float BiasStep(ArrayView<float> bias, ArrayView<float> velocity, ArrayView<float> sums, ArrayView<float> q, int j, int n, bool hidden, in RbmUpdateArgs u)
    {
        float mean = sums[n + j] * u.PositiveScale;
        float g = mean - sums[j] * u.NegativeScale;
        float qj = 0f;
        if (hidden && u.SparsityCost > 0f)
        {
            qj = u.SparsityDecay * q[j] + (1f - u.SparsityDecay) * mean;
            q[j] = qj;
            g -= u.SparsityCost * (qj - u.SparsityTarget);
        }
        float vel = velocity[j];
        bias[j] = RbmMath.Step(bias[j], ref vel, g, u.LearningRate, u.Momentum);
        velocity[j] = vel;
        return qj;
    }

    /// <summary>
    /// F(v) = -b.v - sum_j softplus(act_j) per row, with act = v W + c already computed. Row
    /// blocks (lanes threads per row, one segment sum of both terms).
    /// </summary>
    public static void FreeEnergyKernel(ArrayView<float> v, ArrayView<float> act, ArrayView<float> visibleBias, ArrayView<float> result, int rows, int nv, int nh, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int r = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float f = 0f;
        if (r < rows)
        {
            long vr = (long)r * nv;
            for (int i = lane; i < nv; i += lanes)
                f -= visibleBias[i] * v[vr + i];
            long ar = (long)r * nh;
            for (int j = lane; j < nh; j += lanes)
                f -= ScalarMath.Softplus(act[ar + j]);
        }
        float total = GroupReduce.SegmentSum(shared, f, lanes);
        if (r < rows && lane == 0)
            result[r] = total;
    }

    /// <summary>result[r] = sum_i (v[r, i] - p[r, i])^2. Row blocks.</summary>
    public static void SquaredErrorKernel(ArrayView<float> v, ArrayView<float> p, ArrayView<float> result, int rows, int cols, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int r = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float s = 0f;
        if (r < rows)
        {
            long at = (long)r * cols;
            for (int i = lane; i < cols; i += lanes)
            {
                float d = v[at + i] - p[at + i];
                s += d * d;
            }
        }
        float total = GroupReduce.SegmentSum(shared, s, lanes);
        if (r < rows && lane == 0)
            result[r] = total;
    }

    /// <summary>
    /// F(v~) - F(v) where v~ is row r of v with bit i flipped, from act = v W + c:
    /// -s b_i - sum_j (softplus(act_j + s W[i, j]) - softplus(act_j)), s = 1 - 2 v_i. With
    /// <paramref name="allBits"/> = 0, pair p is row p and bit flips[p]; otherwise row p / nv and
    /// bit p mod nv. Row blocks over the pairs (lanes threads per pair add the hidden units).
    /// </summary>
    public static void FlipFreeEnergyKernel(ArrayView<float> v, ArrayView<float> act, ArrayView<float> weights, ArrayView<float> visibleBias, ArrayView<int> flips, ArrayView<float> result, int pairs, int nv, int nh, int allBits, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int p = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float d = 0f;
        if (p < pairs)
        {
            int r = allBits != 0 ? p / nv : p;
            int i = allBits != 0 ? p - r * nv : flips[p];
            float s = 1f - 2f * v[(long)r * nv + i];
            if (lane == 0)
                d = -s * visibleBias[i];
            long ar = (long)r * nh;
            long wr = (long)i * nh;
            for (int j = lane; j < nh; j += lanes)
                d -= RbmMath.SoftplusDifference(act[ar + j], s * weights[wr + j]);
        }
        float total = GroupReduce.SegmentSum(shared, d, lanes);
        if (p < pairs && lane == 0)
            result[p] = total;
    }
}
