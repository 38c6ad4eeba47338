using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Training;

namespace InfoGpu.Restricted;

/// <summary>The fused step of a grid of RBMs (<see cref="GridStepper"/>).</summary>
public sealed partial class RbmTrainer : IFusableTrainer
{
    /// <inheritdoc/>
    DeviceKind IFusableTrainer.DeviceKind => device.Kind;

    /// <inheritdoc/>
    string? IFusableTrainer.WhyNotFused(IReadOnlyList<ITrainer> trainers) => GridStepper.WhyNot(trainers);

    /// <inheritdoc/>
    IFusedSteps IFusableTrainer.Fuse(IReadOnlyList<ITrainer> trainers) =>
        new GridStepper([.. trainers.Select(t => (RbmTrainer)t)]);

    /// <summary>Opens the epoch's timing segment (as the first <see cref="TrainStep"/> of an epoch does).</summary>
    private void BeginFusedStep()
    {
        if (!segmentOpen)
        {
            cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
            segmentOpen = true;
        }
    }

    /// <summary>The counters of one step done by a grid (as <see cref="TrainStep"/> advances them), and its share of the grid step's time.</summary>
    private void EndFusedStep(long draws, double seconds)
    {
        Draws += draws;
        StepInEpoch++;
        Step++;
        epochSeconds += seconds;
    }

    /// <summary>
    /// One step of M RBMs in one set of launches: the models' parameters, momentum buffers,
    /// sparsity means, sampling stacks (with the PCD chains), gradients and column sums stacked
    /// [M x ...] in buffers of its own; per step one batched gather (each model in its own epoch
    /// order), the half-sweeps as <see cref="Gemm.MultiplyBatched"/> (each model's draws keyed by
    /// its seed, at the common position of the sampling stream), one batched column-statistics
    /// launch per layer, one batched TN product and one batched update whose learning rate,
    /// momentum, weight decay and sparsity settings are read per model from a small device array.
    /// The launch count does not depend on M.
    /// </summary>
    /// <remarks>
    /// The models must agree on everything the launches share (device, shape, data, batch,
    /// sampler, K, chains, restarts, place in the run; see <see cref="WhyNot"/>); they may differ in
    /// seed, learning rate, momentum schedule, weight decay, sparsity and check interval. On
    /// <c>cpu</c> every batched operation runs the single-model kernels model after model, so
    /// each model has the bits of training it alone; on the ILGPU kinds the batched kernels do the
    /// single-model kernels' arithmetic per element (the batched GEMM is the hand-written kernel,
    /// which the single-model GEMM also runs except on <c>cuda</c> with cuBLAS).
    /// <para>
    /// Uploads only when an epoch starts (the M orders) or a model's coefficients change (a
    /// momentum switch, a new learning rate); downloads only for the finite-parameter check every
    /// <see cref="RbmTrainerOptions.CheckEvery"/> steps. Not safe to use from several threads.
    /// </para>
    /// </remarks>
    private sealed class GridStepper : IFusedSteps
    {
        private readonly RbmTrainer[] models;
        private readonly ComputeDevice device;
        private readonly int count, nv, nh, rows, batch, chains, stackRows;
        private readonly long nw, strideV, strideH, strideP;
        private readonly bool pcd;
        private readonly DeviceBuffer<float> w, b, c, vw, vb, vc, q, stackV, stackH, hiddenSamples, visibleProbabilities, gradient, sumsV, sumsH;
        private readonly DeviceBuffer<int> order;
        private readonly DeviceBuffer<ulong> seeds;
        private readonly DeviceBuffer<RbmUpdateArgs> coefficients;
        private readonly int[] hostOrder;
        private readonly RbmUpdateArgs[] hostCoefficients, uploadedCoefficients;
        private readonly float[] hostW, hostB, hostC;
        private int orderEpoch = -1;
        private bool coefficientsUploaded, dirty;

        public GridStepper(RbmTrainer[] models)
        {
            this.models = models;
            var lead = models[0];
            device = lead.device;
            count = models.Length;
            nv = lead.nv;
            nh = lead.nh;
            rows = lead.rows;
            batch = lead.batch;
            chains = lead.chains;
            stackRows = lead.stackRows;
            pcd = lead.options.Sampler == RbmSamplerKind.Pcd;
            nw = (long)nv * nh;
            strideV = (long)stackRows * nv;
            strideH = (long)stackRows * nh;
            strideP = (long)chains * nv;

            w = device.Allocate<float>(count * nw);
            b = device.Allocate<float>((long)count * nv);
            c = device.Allocate<float>((long)count * nh);
            vw = device.Allocate<float>(count * nw);
            vb = device.Allocate<float>((long)count * nv);
            vc = device.Allocate<float>((long)count * nh);
            q = device.Allocate<float>((long)count * nh);
            stackV = device.Allocate<float>(count * strideV);
            stackH = device.Allocate<float>(count * strideH);
            hiddenSamples = device.Allocate<float>(count * strideH);
            visibleProbabilities = device.Allocate<float>(count * strideP);
            gradient = device.Allocate<float>(count * nw);
            sumsV = device.Allocate<float>(2L * count * nv);
            sumsH = device.Allocate<float>(2L * count * nh);
            order = device.Allocate<int>((long)count * rows);
            seeds = device.Allocate<ulong>(count);
            coefficients = device.Allocate<RbmUpdateArgs>(count);
            hostOrder = new int[count * rows];
            hostCoefficients = new RbmUpdateArgs[count];
            uploadedCoefficients = new RbmUpdateArgs[count];
            hostW = new float[count * nw];
            hostB = new float[count * nv];
            hostC = new float[count * nh];

            seeds.CopyFrom(models.Select(m => m.options.Seed).ToArray());
            var be = device.Backend;
            for (int m = 0; m < count; m++)
            {
                var t = models[m];
                be.CopyBuffer(t.w, 0, w, m * nw, nw);
                be.CopyBuffer(t.b, 0, b, (long)m * nv, nv);
                be.CopyBuffer(t.c, 0, c, (long)m * nh, nh);
                be.CopyBuffer(t.vw, 0, vw, m * nw, nw);
                be.CopyBuffer(t.vb, 0, vb, (long)m * nv, nv);
                be.CopyBuffer(t.vc, 0, vc, (long)m * nh, nh);
                be.CopyBuffer(t.q, 0, q, (long)m * nh, nh);
                // The chains (PCD) live in the stack's first rows; the restart's product reads the hidden samples.
                be.CopyBuffer(t.stacksV[0], 0, stackV, m * strideV, strideV);
                be.CopyBuffer(t.hiddenSamples, 0, hiddenSamples, m * strideH, strideH);
            }
        }

        public int DivergedModel { get; private set; } = -1;

        /// <summary>Null when the trainers can share the launches of a step; else the first reason they cannot.</summary>
        public static string? WhyNot(IReadOnlyList<ITrainer> trainers)
        {
            if (trainers[0] is not RbmTrainer lead)
                return "the first model is not an RBM";
            for (int m = 0; m < trainers.Count; m++)
            {
                if (trainers[m] is not RbmTrainer t)
                    return string.Create(CultureInfo.InvariantCulture, $"model {m} is not an RBM");
                var (o, lo) = (t.options, lead.options);
                string? why =
                    t.parallel.IsSharded ? $"splits its batches over {t.parallel.Shards} shards (data parallel)"
                    : t.device != lead.device ? "is on another device"
                    : t.nv != lead.nv || t.nh != lead.nh ? $"is {t.nv}x{t.nh}, not {lead.nv}x{lead.nh}"
                    : t.rows != lead.rows || t.fingerprint != lead.fingerprint ? "trains on other images"
                    : t.batch != lead.batch ? "has another batch size"
                    : o.Sampler != lo.Sampler || o.K != lo.K || t.chains != lead.chains || o.RestartChains != lo.RestartChains ? "has another sampler, K or chain count"
                    : t.Epoch != lead.Epoch || t.StepInEpoch != lead.StepInEpoch || t.Step != lead.Step || t.Draws != lead.Draws ? "is at another place of the run"
                    : null;
                if (why is not null)
                    return string.Create(CultureInfo.InvariantCulture, $"model {m} {why}");
            }
            if ((long)trainers.Count * Math.Max(Math.Max((long)lead.nv * lead.nh, (long)lead.stackRows * Math.Max(lead.nv, lead.nh)), lead.rows) > int.MaxValue)
                return "the stacked buffers of the models would pass 2^31 values";
            return null;
        }

        public void Step()
        {
            var lead = models[0];
            if (lead.StepInEpoch >= lead.StepsPerEpoch)
                throw new InvalidOperationException("the epoch's steps are done: close it with EndEpoch");
            long t0 = Stopwatch.GetTimestamp();
            foreach (var t in models)
                t.BeginFusedStep();
            int epoch = lead.Epoch + 1;
            PrepareOrder(epoch);
            PrepareCoefficients(epoch);
            int start = lead.StepInEpoch * batch;
            int size = Math.Min(batch, rows - start);
            int cm = pcd ? chains : size;
            Statistics(start, size, cm, lead.Draws);
            var shared = new RbmUpdateArgs
            {
                Visible = nv,
                Hidden = nh,
                PositiveScale = 1f / size,
                NegativeScale = 1f / cm,
            };
            device.Backend.RbmUpdateBatched(w, vw, gradient, b, vb, sumsV, c, vc, sumsH, q, coefficients, shared, count);
            dirty = true;
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds / count;
            foreach (var t in models)
                t.EndFusedStep(t.DrawsOfStep(size, cm), seconds);
            CheckParameters(epoch);
        }

        /// <summary>Each model's epoch order (its own seed), uploaded once per epoch.</summary>
        private void PrepareOrder(int epoch)
        {
            if (orderEpoch == epoch)
                return;
            for (int m = 0; m < count; m++)
                Data.Shuffle.Permute(hostOrder.AsSpan(m * rows, rows), models[m].options.Seed, (ulong)epoch);
            order.CopyFrom(hostOrder);
            orderEpoch = epoch;
        }

        /// <summary>Each model's learning rate, momentum at <paramref name="epoch"/>, weight decay and sparsity settings, uploaded when they change.</summary>
        private void PrepareCoefficients(int epoch)
        {
            for (int m = 0; m < count; m++)
            {
                var o = models[m].options;
                hostCoefficients[m] = new RbmUpdateArgs
                {
                    LearningRate = (float)o.LearningRate,
                    Momentum = (float)o.MomentumAt(epoch),
                    WeightDecay = (float)o.WeightDecay,
                    SparsityTarget = (float)o.SparsityTarget,
                    SparsityCost = o.Sparse ? (float)o.SparsityCost : 0f,
                    SparsityDecay = (float)o.SparsityDecay,
                };
            }
            if (coefficientsUploaded && hostCoefficients.AsSpan().SequenceEqual(uploadedCoefficients))
                return;
            coefficients.CopyFrom(hostCoefficients);
            hostCoefficients.CopyTo(uploadedCoefficients, 0);
            coefficientsUploaded = true;
        }

        /// <summary>
        /// The sampling and statistics of <see cref="ShardStatistics"/> (one shard: the whole batch
        /// and every chain) for all models at once, into the stacked gradients and column sums.
        /// </summary>
        private void Statistics(int start, int size, int cm, long draws)
        {
            var be = device.Backend;
            var lead = models[0];
            int k = lead.options.K;
            be.GatherRowsBatched(lead.train, order, stackV, start, size, nv, (long)cm * nv, strideV, rows, count);
            long cursor = draws;
            long Next(long batchRows, long cols)
            {
                long at = cursor;
                cursor += batchRows * cols;
                return at;
            }

            if (!pcd)
            {
                Hidden(cm, size, Next(size, nh));
                for (int t = 0; t < k; t++)
                {
                    Visible(cm, Next(cm, nv));
                    Hidden(0, cm, t + 1 == k ? -1 : Next(cm, nh));
                }
            }
            else
            {
                if (lead.options.RestartChains)
                {
                    // Fresh chains: every visible unit Bernoulli(sigmoid(0 x + 0 b) = 1/2).
                    Gemm.MultiplyBatched(
                        GemmLayout.NT, (hiddenSamples, cm, nh), (w, nv, nh), (visibleProbabilities, cm, nv),
                        new GemmEpilogue
                        {
                            Alpha = 0f,
                            Bias = b,
                            BiasScale = 0f,
                            Activation = GemmActivation.Sigmoid,
                            Samples = stackV,
                            Stream = SampleStream,
                            SampleOffset = Next(cm, nv),
                        },
                        Batch(strideH, nw, strideP, nv, strideV));
                }
                Hidden(0, cm + size, Next(cm + size, nh));
                for (int t = 0; t < k; t++)
                {
                    if (t > 0)
                        Hidden(0, cm, Next(cm, nh));
                    Visible(cm, Next(cm, nv));
                }
                Hidden(0, cm, -1);
            }

            int total = cm + size;
            be.RbmColumnStatisticsBatched(stackV, 0, strideV, total, nv, cm, sumsV, 2L * nv, 1f, count);
            be.RbmColumnStatisticsBatched(stackH, 0, strideH, total, nh, cm, sumsH, 2L * nh, -(float)size / cm, count);
            Gemm.MultiplyBatched(
                GemmLayout.TN, (stackV, total, nv), (stackH, total, nh), (gradient, nv, nh), new GemmEpilogue { Alpha = 1f / size },
                new GemmBatch { Count = count, AStride = strideV, BStride = strideH, CStride = nw });
        }

        /// <summary>
        /// p(h | v) = sigmoid(v W + c) for the stack rows [<paramref name="first"/>, +<paramref name="n"/>)
        /// of every model, with hidden samples drawn from <paramref name="offset"/> (none when negative).
        /// </summary>
        private void Hidden(int first, int n, long offset)
        {
            var e = new GemmEpilogue { Bias = c, Activation = GemmActivation.Sigmoid };
            if (offset >= 0)
                e = e with { Samples = hiddenSamples, Stream = SampleStream, SampleOffset = offset };
            Gemm.MultiplyBatched(
                GemmLayout.NN, new MatrixView(stackV, n, nv, (long)first * nv), (w, nv, nh), new MatrixView(stackH, n, nh, (long)first * nh), e,
                Batch(strideV, nw, strideH, nh, strideH));
        }

        /// <summary>p(v | h) = sigmoid(h W^T + b) of every model's chains from its hidden samples, with visible samples into the stack's first rows.</summary>
        private void Visible(int cm, long offset) =>
            Gemm.MultiplyBatched(
                GemmLayout.NT, (hiddenSamples, cm, nh), (w, nv, nh), (visibleProbabilities, cm, nv),
                new GemmEpilogue { Bias = b, Activation = GemmActivation.Sigmoid, Samples = stackV, Stream = SampleStream, SampleOffset = offset },
                Batch(strideH, nw, strideP, nv, strideV));

        private GemmBatch Batch(long a, long bStride, long cStride, long bias, long samples) => new()
        {
            Count = count,
            AStride = a,
            BStride = bStride,
            CStride = cStride,
            BiasStride = bias,
            SamplesStride = samples,
            Seeds = seeds,
        };

        /// <summary>Every <see cref="RbmTrainerOptions.CheckEvery"/> steps of a model, its parameters must be finite (one download of each stacked buffer when any model is due).</summary>
        private void CheckParameters(int epoch)
        {
            bool due = false;
            foreach (var t in models)
                due |= t.Step % t.options.CheckEvery == 0;
            if (!due)
                return;
            w.CopyTo(hostW);
            b.CopyTo(hostB);
            c.CopyTo(hostC);
            for (int m = 0; m < count; m++)
            {
                var t = models[m];
                if (t.Step % t.options.CheckEvery != 0)
                    continue;
                if (IndexOfNonFinite(hostW.AsSpan((int)(m * nw), (int)nw)) >= 0 || IndexOfNonFinite(hostB.AsSpan(m * nv, nv)) >= 0 || IndexOfNonFinite(hostC.AsSpan(m * nh, nh)) >= 0)
                {
                    // The model's own check names the value and the step.
                    WriteBack();
                    DivergedModel = m;
                    t.CheckParameters(epoch);
                    throw new InvalidOperationException($"model {m} has a non-finite parameter that its own check did not find");
                }
            }
        }

        public void WriteBack()
        {
            if (!dirty)
                return;
            var be = device.Backend;
            for (int m = 0; m < count; m++)
            {
                var t = models[m];
                be.CopyBuffer(w, m * nw, t.w, 0, nw);
                be.CopyBuffer(b, (long)m * nv, t.b, 0, nv);
                be.CopyBuffer(c, (long)m * nh, t.c, 0, nh);
                be.CopyBuffer(vw, m * nw, t.vw, 0, nw);
                be.CopyBuffer(vb, (long)m * nv, t.vb, 0, nv);
                be.CopyBuffer(vc, (long)m * nh, t.vc, 0, nh);
                be.CopyBuffer(q, (long)m * nh, t.q, 0, nh);
                be.CopyBuffer(stackV, m * strideV, t.stacksV[0], 0, strideV);
                be.CopyBuffer(hiddenSamples, m * strideH, t.hiddenSamples, 0, strideH);
            }
            dirty = false;
        }

        /// <summary>Frees the stacked buffers, in reverse order of allocation (write back first to keep the last steps).</summary>
        public void Dispose()
        {
            coefficients.Dispose();
            seeds.Dispose();
            order.Dispose();
            sumsH.Dispose();
            sumsV.Dispose();
            gradient.Dispose();
            visibleProbabilities.Dispose();
            hiddenSamples.Dispose();
            stackH.Dispose();
            stackV.Dispose();
            q.Dispose();
            vc.Dispose();
            vb.Dispose();
            vw.Dispose();
            c.Dispose();
            b.Dispose();
            w.Dispose();
        }
    }
}
