using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Training;

namespace InfoGpu.Variational;

/// <summary>The fused step of a grid of VAEs (<see cref="GridStepper"/>).</summary>
public sealed partial class VaeTrainer : IFusableTrainer
{
    /// <inheritdoc/>
    DeviceKind IFusableTrainer.DeviceKind => device.Kind;

    /// <inheritdoc/>
    string? IFusableTrainer.WhyNotFused(IReadOnlyList<ITrainer> trainers) => GridStepper.WhyNot(trainers);

    /// <inheritdoc/>
    IFusedSteps IFusableTrainer.Fuse(IReadOnlyList<ITrainer> trainers) =>
        new GridStepper([.. trainers.Select(t => (VaeTrainer)t)]);

    /// <summary>
    /// One Adam step of M VAEs in one set of launches: the models' eight parameter tensors, their
    /// gradients and Adam moments stacked [M x ...] (one buffer per tensor), the workspaces of the
    /// forward and backward passes stacked [M x batch x ...], and the epoch's per-row losses
    /// [M x 2 images]. Per step: one batched gather (each model in its own epoch order), the four
    /// forward and eight backward products as <see cref="Gemm.MultiplyBatched"/>, one batched launch
    /// each for the reparameterization (each model's noise keyed by its seed, at the common draw
    /// position), the cross-entropy and its gradient, the KL, the two ReLU backwards, the two bias
    /// column sums and the gradient through z (each model's beta from a device array), and one
    /// batched Adam whose step size (learning rate / (1 - beta1^t)) is read per model from a device
    /// table of the epoch's steps, computed on the host in float64 as each trainer computes it. The
    /// launch count does not depend on M.
    /// </summary>
    /// <remarks>
    /// The models must agree on what the launches share (device, shape, data after binarization,
    /// batch, place in the run; see <see cref="WhyNot"/>); they may differ in seed, learning rate,
    /// beta, test images and check interval. On <c>cpu</c> every batched operation runs the
    /// single-model kernels model after model, so each model has the bits of training it alone; on
    /// the ILGPU kinds the batched kernels call the single-model kernels on each model's block (the
    /// batched GEMM is the hand-written kernel, which the single-model GEMM also runs except on
    /// <c>cuda</c> with cuBLAS).
    /// <para>
    /// Uploads only when an epoch starts (the M orders and the M x steps table of step sizes) or a
    /// learning rate changes (the table again); downloads only
    /// the losses of the models due for their check (<see cref="VaeTrainerOptions.CheckEvery"/>), as
    /// each trainer alone. Not safe to use from several threads.
    /// </para>
    /// </remarks>
    private sealed class GridStepper : IFusedSteps
    {
        private readonly VaeTrainer[] models;
        private readonly ComputeDevice device;
        private readonly int count, d, h, l, batch, rows;
        private readonly long[] lengths;
        private readonly DeviceBuffer<float>[] p, g, m, v;
        private readonly DeviceBuffer<float> x, h1, stats, eps, z, h3, logits, dstats, dz, dh, losses;
        private readonly DeviceBuffer<int> order;
        private readonly DeviceBuffer<ulong> seeds;
        private readonly DeviceBuffer<float> stepSizes, betas;
        private readonly int[] hostOrder;
        private readonly float[] hostStepSizes;
        private readonly double[] hostRates, tableRates;
        private readonly int stepsPerEpoch;
        private readonly List<IDisposable> owned = [];
        private int orderEpoch = -1, tableEpoch = -1;
        private bool dirty;

        public GridStepper(VaeTrainer[] models)
        {
            this.models = models;
            var lead = models[0];
            device = lead.device;
            count = models.Length;
            d = lead.Vae.Input;
            h = lead.Vae.Hidden;
            l = lead.Vae.Latent;
            batch = lead.Options.BatchSize;
            rows = lead.TrainCount;
            lengths = [.. lead.Vae.Tensors.Select(t => (long)t.Values.Length)];
            p = [.. lengths.Select(n => Own(device.Allocate<float>(count * n)))];
            g = [.. lengths.Select(n => Own(device.Allocate<float>(count * n)))];
            m = [.. lengths.Select(n => Own(device.Allocate<float>(count * n)))];
            v = [.. lengths.Select(n => Own(device.Allocate<float>(count * n)))];
            x = Stack(d);
            h1 = Stack(h);
            stats = Stack(2 * l);
            eps = Stack(l);
            z = Stack(l);
            h3 = Stack(h);
            logits = Stack(d);
            dstats = Stack(2 * l);
            dz = Stack(l);
            dh = Stack(h);
            losses = Own(device.Allocate<float>(2L * count * rows));
            order = device.Allocate<int>((long)count * rows);
            seeds = device.Allocate<ulong>(count);
            stepsPerEpoch = lead.StepsPerEpoch;
            stepSizes = device.Allocate<float>((long)count * stepsPerEpoch);
            betas = device.Allocate<float>(count);
            hostOrder = new int[count * rows];
            hostStepSizes = new float[count * stepsPerEpoch];
            hostRates = new double[count];
            tableRates = new double[count];

            seeds.CopyFrom(models.Select(t => t.Options.Seed).ToArray());
            betas.CopyFrom(models.Select(t => (float)t.Options.Beta).ToArray());
            var be = device.Backend;
            for (int k = 0; k < count; k++)
            {
                var t = models[k];
                for (int i = 0; i < lengths.Length; i++)
                {
                    be.CopyBuffer(t.net.Parameters[i], 0, p[i], k * lengths[i], lengths[i]);
                    be.CopyBuffer(t.m[i], 0, m[i], k * lengths[i], lengths[i]);
                    be.CopyBuffer(t.v[i], 0, v[i], k * lengths[i], lengths[i]);
                }
                // The losses of the epoch's steps so far (not read yet where a check is not due).
                be.CopyBuffer(t.epochLosses, 0, losses, 2L * k * rows, 2L * rows);
            }
        }

        private DeviceBuffer<float> Own(DeviceBuffer<float> b)
        {
            owned.Add(b);
            return b;
        }

        private DeviceBuffer<float> Stack(int width) => Own(device.Allocate<float>((long)count * batch * width));

        public int DivergedModel { get; private set; } = -1;

        /// <summary>Null when the trainers can share the launches of a step; else the first reason they cannot.</summary>
        public static string? WhyNot(IReadOnlyList<ITrainer> trainers)
        {
            if (trainers[0] is not VaeTrainer lead)
                return "the first model is not a VAE";
            for (int k = 0; k < trainers.Count; k++)
            {
                if (trainers[k] is not VaeTrainer t)
                    return string.Create(CultureInfo.InvariantCulture, $"model {k} is not a VAE");
                var (a, b) = (t.Vae, lead.Vae);
                string? why =
                    t.parallel.IsSharded ? $"splits its batches over {t.parallel.Shards} shards (data parallel)"
                    : t.device != lead.device ? "is on another device"
                    : a.Input != b.Input || a.Hidden != b.Hidden || a.Latent != b.Latent ? $"is {a.Input}-{a.Hidden}-{a.Latent}, not {b.Input}-{b.Hidden}-{b.Latent}"
                    : t.Options.Binarize != lead.Options.Binarize ? "binarizes the images differently"
                    : t.TrainCount != lead.TrainCount || t.TrainFingerprint != lead.TrainFingerprint ? "trains on other images"
                    : t.Options.BatchSize != lead.Options.BatchSize ? "has another batch size"
                    : t.epoch != lead.epoch || t.epochStep != lead.epochStep || t.step != lead.step ? "is at another place of the run"
                    : null;
                if (why is not null)
                    return string.Create(CultureInfo.InvariantCulture, $"model {k} {why}");
            }
            long widest = Math.Max(Math.Max(lead.Vae.Tensors.Max(t => (long)t.Values.Length), (long)lead.Options.BatchSize * Math.Max(lead.Vae.Input, Math.Max(lead.Vae.Hidden, 2 * lead.Vae.Latent))), 2L * lead.TrainCount);
            if (trainers.Count * widest > int.MaxValue)
                return "the stacked buffers of the models would pass 2^31 values";
            return null;
        }

        public void Step()
        {
            var lead = models[0];
            if (lead.epochStep >= lead.StepsPerEpoch)
                throw new InvalidOperationException("the epoch's steps are done: close it with EndEpoch");
            long t0 = Stopwatch.GetTimestamp();
            PrepareOrder(lead.epoch);
            PrepareStepSizes(lead.epoch, lead.step - lead.epochStep);
            int start = lead.epochStep * batch;
            int n = Math.Min(batch, rows - start);
            Gradient(start, n, lead.step * batch * l);
            dirty = true;
            // As each trainer alone: the losses are read (and checked) before the update, at a model's first step and every CheckEvery steps.
            for (int k = 0; k < count; k++)
            {
                var t = models[k];
                if (t.checkedOnce && (t.step + 1) % t.Options.CheckEvery != 0)
                    continue;
                t.checkedOnce = true;
                try
                {
                    t.ReadLosses(t.epochStep + 1, t.step + 1, losses, 2L * k * rows);
                }
                catch (TrainingDivergedException)
                {
                    // The model's own read names the batch and the first tensor with NaN or infinite values.
                    WriteBack(gradients: true);
                    DivergedModel = k;
                    t.ReadLosses(t.epochStep + 1, t.step + 1);
                    throw;
                }
            }
            Adam(lead.step + 1, lead.epochStep);
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds / count;
            foreach (var t in models)
            {
                t.step++;
                t.epochStep++;
                t.partialSeconds += seconds;
            }
        }

        /// <summary>Each model's epoch order (its own seed), uploaded once per epoch.</summary>
        private void PrepareOrder(int epoch)
        {
            if (orderEpoch == epoch)
                return;
            for (int k = 0; k < count; k++)
                Data.Shuffle.Permute(hostOrder.AsSpan(k * rows, rows), models[k].Options.Seed, (ulong)epoch);
            order.CopyFrom(hostOrder);
            orderEpoch = epoch;
        }

        /// <summary>
        /// Each model's Adam step size at every step of the epoch, (float)(lr / (1 - 0.9^t)) as
        /// <c>AdamStep</c> computes it, t = <paramref name="firstStep"/> + 1 + the step in the epoch:
        /// uploaded when an epoch starts or a learning rate changes.
        /// </summary>
        private void PrepareStepSizes(int epoch, long firstStep)
        {
            for (int k = 0; k < count; k++)
                hostRates[k] = models[k].Options.LearningRate;
            if (tableEpoch == epoch && hostRates.AsSpan().SequenceEqual(tableRates))
                return;
            for (int k = 0; k < count; k++)
            {
                for (int s = 0; s < stepsPerEpoch; s++)
                    hostStepSizes[(k * stepsPerEpoch) + s] = (float)(hostRates[k] / (1 - Math.Pow(Beta1, firstStep + s + 1)));
            }
            stepSizes.CopyFrom(hostStepSizes);
            hostRates.CopyTo(tableRates, 0);
            tableEpoch = epoch;
        }

        /// <summary>
        /// The single trainer's gather, <see cref="VaeNetwork.Encode"/>, <see cref="VaeNetwork.Sample"/>,
        /// <see cref="VaeNetwork.Decode"/>, loss, KL and <see cref="VaeNetwork.Backward"/> for every
        /// model, the per-row losses straight into the stacked epoch losses.
        /// </summary>
        private void Gradient(int start, int n, long drawOffset)
        {
            var be = device.Backend;
            int l2 = 2 * l;
            long sx = (long)batch * d, sh = (long)batch * h, ss = (long)batch * l2, sz = (long)batch * l;
            be.GatherRowsBatched(models[0].train, order, x, start, n, d, 0, sx, rows, count);
            // Forward: h1 = relu(x W1^T + b1), stats = h1 W2^T + b2, z, h3 = relu(z W3^T + b3), logits = h3 W4^T + b4.
            Layer(x, d, sx, 0, h1, h, sh, GemmActivation.Relu, n);
            Layer(h1, h, sh, 2, stats, l2, ss, GemmActivation.None, n);
            be.VaeReparameterizeBatched(stats, ss, eps, z, sz, n, l, seeds, TrainStream, drawOffset, count);
            Layer(z, l, sz, 4, h3, h, sh, GemmActivation.Relu, n);
            Layer(h3, h, sh, 6, logits, d, sx, GemmActivation.None, n);
            long stride = 2L * rows;
            be.VaeCrossEntropyBatched(logits, x, sx, losses, 2L * start, stride, n, d, count);
            be.VaeKlBatched(stats, ss, losses, (2L * start) + n, stride, n, l, count);
            // Backward, as VaeNetwork.Backward.
            Product(GemmLayout.TN, (logits, n, d), sx, (h3, n, h), sh, (g[6], d, h), lengths[6]);
            be.VaeColumnSumsBatched(logits, sx, g[7], n, d, count);
            Product(GemmLayout.NN, (logits, n, d), sx, (p[6], d, h), lengths[6], (dh, n, h), sh);
            be.VaeReluBackwardBatched(dh, h3, sh, g[5], n, h, count);
            Product(GemmLayout.TN, (dh, n, h), sh, (z, n, l), sz, (g[4], h, l), lengths[4]);
            Product(GemmLayout.NN, (dh, n, h), sh, (p[4], h, l), lengths[4], (dz, n, l), sz);
            be.VaeReparameterizeBackwardBatched(stats, ss, eps, dz, sz, dstats, n, l, betas, count);
            Product(GemmLayout.TN, (dstats, n, l2), ss, (h1, n, h), sh, (g[2], l2, h), lengths[2]);
            be.VaeColumnSumsBatched(dstats, ss, g[3], n, l2, count);
            Product(GemmLayout.NN, (dstats, n, l2), ss, (p[2], l2, h), lengths[2], (dh, n, h), sh);
            be.VaeReluBackwardBatched(dh, h1, sh, g[1], n, h, count);
            Product(GemmLayout.TN, (dh, n, h), sh, (x, n, d), sx, (g[0], h, d), lengths[0]);
        }

        /// <summary>output = activation(input W_t^T + b_t) of every model (W_t = tensor <paramref name="t"/>, b_t the next).</summary>
        private void Layer(DeviceBuffer<float> input, int inCols, long inStride, int t, DeviceBuffer<float> output, int outCols, long outStride, GemmActivation activation, int n) =>
            Gemm.MultiplyBatched(
                GemmLayout.NT, (input, n, inCols), (p[t], outCols, inCols), (output, n, outCols),
                new GemmEpilogue { Bias = p[t + 1], Activation = activation },
                new GemmBatch { Count = count, AStride = inStride, BStride = lengths[t], CStride = outStride, BiasStride = lengths[t + 1] });

        private void Product(GemmLayout layout, MatrixView a, long aStride, MatrixView b, long bStride, MatrixView c, long cStride) =>
            Gemm.MultiplyBatched(layout, a, b, c, GemmEpilogue.None, new GemmBatch { Count = count, AStride = aStride, BStride = bStride, CStride = cStride });

        private const double Beta1 = 0.9;

        /// <summary>The Adam step <paramref name="step"/> of every model (as <c>AdamStep</c>: the bias corrections in float64, each model's step size from the table).</summary>
        private void Adam(long step, int stepInEpoch)
        {
            const double b1 = Beta1, b2 = 0.999;
            var shared = new AdamArgs
            {
                OneMinusBeta1 = (float)(1 - b1),
                Beta2 = (float)b2,
                OneMinusBeta2 = (float)(1 - b2),
                Bias2Sqrt = (float)Math.Sqrt(1 - Math.Pow(b2, step)),
                Epsilon = 1e-8f,
            };
            device.Backend.VaeAdamBatched(p, g, m, v, stepSizes, stepInEpoch, stepsPerEpoch, shared, count);
        }

        public void WriteBack() => WriteBack(gradients: false);

        /// <summary>Copies each model's parameters, moments and epoch losses into its trainer (with <paramref name="gradients"/>, its gradients and encoder statistics too, for a divergence report).</summary>
        private void WriteBack(bool gradients)
        {
            if (!dirty && !gradients)
                return;
            var be = device.Backend;
            for (int k = 0; k < count; k++)
            {
                var t = models[k];
                for (int i = 0; i < lengths.Length; i++)
                {
                    be.CopyBuffer(p[i], k * lengths[i], t.net.Parameters[i], 0, lengths[i]);
                    be.CopyBuffer(m[i], k * lengths[i], t.m[i], 0, lengths[i]);
                    be.CopyBuffer(v[i], k * lengths[i], t.v[i], 0, lengths[i]);
                    if (gradients)
                        be.CopyBuffer(g[i], k * lengths[i], t.net.Gradients[i], 0, lengths[i]);
                }
                if (gradients)
                {
                    be.CopyBuffer(stats, k * (long)batch * 2 * l, t.net.Stats, 0, (long)batch * 2 * l);
                    be.CopyBuffer(z, k * (long)batch * l, t.net.Z, 0, (long)batch * l);
                    be.CopyBuffer(logits, k * (long)batch * d, t.net.Logits, 0, (long)batch * d);
                }
                be.CopyBuffer(losses, 2L * k * rows, t.epochLosses, 0, 2L * rows);
                // A step alone after the grid's steps uploads its epoch order again.
                t.orderReady = false;
            }
            dirty = false;
        }

        /// <summary>Frees the stacked buffers, in reverse order of allocation (write back first to keep the last steps).</summary>
        public void Dispose()
        {
            betas.Dispose();
            stepSizes.Dispose();
            seeds.Dispose();
            order.Dispose();
            for (int i = owned.Count - 1; i >= 0; i--)
                owned[i].Dispose();
        }
    }
}
