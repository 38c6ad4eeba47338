using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Restricted;
using InfoGpu.Training;
using static System.FormattableString;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu rbm train</c>: a Bernoulli RBM on binarized Fashion-MNIST by CD-k or PCD.</summary>
internal static class RbmCommands
{
    public static IReadOnlyList<ICommand> All { get; } = [new Train(), new Eval()];

    private const string ModelFile = TrainingSession.CheckpointFile;

    private sealed class Train : IDistributedCommand
    {
        private static readonly RbmTrainerOptions D = new();

        public CommandSpec Spec { get; } = new(
            "rbm train",
            "train a Bernoulli RBM on binarized Fashion-MNIST by CD-k or persistent CD",
            Invariant($"[--data DIR] [--limit N] [--hidden 500] [--sampler cd|pcd] [--k {D.K}] [--epochs {D.Epochs}] [--batch {D.BatchSize}] [--lr {D.LearningRate}] [--momentum {D.InitialMomentum},{D.FinalMomentum}] [--weight-decay {D.WeightDecay}] [--sparsity-target T --sparsity-cost C] [--seed {D.Seed}] [--out DIR [--overwrite]] [--resume DIR] [--checkpoint-every N] [--sample-steps 1000] [--monitor-rows N] [--binarize threshold|stochastic|none] [--shards N] [--seeds 1-8] [--grid \"lr=0.01,0.1;weight-decay=0,1e-4\"] [--accelerator KIND] [--json]"),
            [
                OptionSpec.File("data", "DIR", "IDX folder (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz]); default: /usr/share/datasets/fashion-mnist, else the embedded subset"),
                OptionSpec.Int("hidden", "H", "hidden units (default 500)", 500),
                OptionSpec.Choice("sampler", "contrastive divergence from the data, or persistent chains", ["cd", "pcd"], "cd"),
                OptionSpec.Int("k", "K", Invariant($"Gibbs steps per update (default {D.K})"), D.K),
                OptionSpec.Int("epochs", "E", Invariant($"passes over the training images (default {D.Epochs}; with --resume: the total to reach)"), D.Epochs),
                OptionSpec.Int("batch", "B", Invariant($"mini-batch size, and the number of PCD chains (default {D.BatchSize})"), D.BatchSize),
                OptionSpec.Double("lr", "R", Invariant($"learning rate (default {D.LearningRate})"), D.LearningRate),
                OptionSpec.Numbers("momentum", "M1,M2", Invariant($"momentum for the first {D.MomentumSwitchEpochs} epochs, then after (default {D.InitialMomentum},{D.FinalMomentum}; one value: constant)")),
                OptionSpec.Double("weight-decay", "D", Invariant($"L2 penalty on the weights (default {D.WeightDecay})"), D.WeightDecay),
                OptionSpec.Double("sparsity-target", "T", "target mean activation of the hidden units (with --sparsity-cost)"),
                OptionSpec.Double("sparsity-cost", "C", "cost of the sparsity penalty (default 0: off)", D.SparsityCost),
                OptionSpec.Int("seed", "S", Invariant($"seed of the initialization, data order, sampling and monitored pixels (default {D.Seed})"), (int)D.Seed),
                OptionSpec.File("out", "DIR", "write DIR/metrics.csv, model.safetensors, filters.png, samples.png (default rbm-out; with --resume: that folder)"),
                OptionSpec.Int("limit", "N", "use the first N training images and the first min(N, 10000) test images"),
                OptionSpec.File("resume", "DIR", "continue the run whose checkpoint is DIR/model.safetensors, with its settings and data"),
                OptionSpec.Flag("overwrite", "replace the run already in the --out folder (default: refuse, and say how to resume it)"),
                OptionSpec.Int("checkpoint-every", "N", "also write the checkpoint every N training steps (default: only at the end of every epoch and on Ctrl-C)"),
                OptionSpec.Int("sample-steps", "N", "Gibbs steps of the chains drawn for samples.png (default 1000)", 1000),
                OptionSpec.Int("monitor-rows", "N", "held-out images used by the per-epoch monitors (default: all)"),
                BinarizeOption,
                OptionSpec.Int("shards", "N", "split every batch into N shards whose gradients are added in shard order, as N MPI ranks do (default 1; under mpirun: the number of ranks)"),
                GridOption.Seeds,
                GridOption.Stepping,
                GridOption.Grid("lr, weight-decay, final-momentum (the momentum after the switch; --momentum sets the first)"),
                CommandSpec.Accelerator,
            ],
            [
                "infogpu rbm train --hidden 500 --sampler cd --k 1 --epochs 10 --out out/rbm",
                "infogpu rbm train --seeds 1-4 --grid \"lr=0.01,0.05;weight-decay=0,1e-4\" --epochs 5 --out out/grid",
                "infogpu rbm train --sampler pcd --epochs 5 --limit 5000 --json",
                "infogpu rbm train --resume out/rbm --epochs 20",
                "infogpu rbm train --binarize none --sampler pcd --momentum 0 --weight-decay 0 --lr 0.1 --batch 10 --out out/grey",
            ]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            if (GridOption.Requested(a))
                return RunGrid(context);
            string? resume = a.Get("resume");
            if (resume is not null && GridOption.IsGrid(resume))
                return ResumeGrid(context, resume);
            GridOption.ParseStepping(a, grid: false);
            var checkpoint = resume is null ? null : TrainingSession.ReadCheckpoint(resume, RbmCheckpoint.Format, "an RBM", "infogpu rbm train");
            double? newLr = checkpoint is null ? null : SessionRunner.CheckResumeFlags(context, ["hidden", "sampler", "k", "batch", "momentum", "weight-decay", "sparsity-target", "sparsity-cost", "seed"]);
            var stored = checkpoint is null ? null : RbmCheckpoint.ReadOptions(checkpoint);
            if (stored is not null && a.Has("binarize") && ParseBinarize(a) != stored.Binarize)
                throw new UsageException($"--binarize {BinarizeName(ParseBinarize(a))} differs from the run's {BinarizeName(stored.Binarize)}: the data of a resumed run is prepared as it was (leave --binarize out, or start a new run with --out DIR)");
            string? dataDir = a.Get("data") ?? SessionRunner.Stored(checkpoint, "data_dir");
            int? limit = a.Has("limit") ? a.GetInt("limit", 0) : SessionRunner.StoredLimit(checkpoint);
            int checkpointEvery = a.GetInt("checkpoint-every", 0);
            int sampleSteps = a.GetInt("sample-steps", 1000);
            int epochs = a.Has("epochs") ? a.GetInt("epochs") : 0;
            if (checkpointEvery < 0 || sampleSteps < 1 || limit is < 1 || (a.Has("epochs") && epochs < 1))
                throw new UsageException("--checkpoint-every must be >= 0, --sample-steps, --limit and --epochs >= 1");
            string outDir = a.Get("out") ?? resume ?? "rbm-out";
            int hidden = a.GetInt("hidden", 500);
            if (hidden < 1)
                throw new UsageException("--hidden must be >= 1");
            var options = checkpoint is null ? ParseOptions(a) with { MonitorRows = a.GetInt("monitor-rows", 0) } : null;
            var parallel = DataParallelOption.Parse(context, checkpoint);

            var data = FashionMnist.Load(dataDir, limit);
            SessionRunner.RequireTestImages(data);
            var mode = stored?.Binarize ?? options!.Binarize;
            ulong dataSeed = stored?.Seed ?? options!.Seed;
            var train = data.Train.AsVisibleData(mode, dataSeed, heldOut: false);
            var test = data.Test.AsVisibleData(mode, dataSeed, heldOut: true);
            using var device = DeviceOption.Open(context);
            context.Note($"data: {data.Description}, {BinarizeText(mode, dataSeed)}; {train.Count} train / {test.Count} test images of {train.Rows}x{train.Cols}");
            RbmTrainer trainer;
            if (checkpoint is not null)
            {
                trainer = RbmTrainer.Resume(device, checkpoint, train.Images, test.Images, parallel);
                SessionRunner.ApplyLearningRate(context, newLr, trainer);
                context.Note($"resumed from {resume} at epoch {trainer.Epoch}, step {trainer.StepInEpoch} of the epoch");
            }
            else
            {
                var rbm = Rbm.Initialize(train.Pixels, hidden, options!.Seed, train.PixelMeans(), options.Sparse ? options.SparsityTarget : null);
                trainer = new RbmTrainer(device, rbm, train.Images, test.Images, options!, parallel);
            }
            using (trainer)
            {
                var o = trainer.Options;
                context.Note(Invariant($"RBM {trainer.Model.Visible} visible x {trainer.Model.Hidden} hidden; {o.Sampler.ToString().ToUpperInvariant()}-{o.K}, batch {o.BatchSize}, lr {o.LearningRate}, momentum {o.InitialMomentum},{o.FinalMomentum}, weight decay {o.WeightDecay}, seed {o.Seed}"));
                DataParallelOption.Note(context, parallel);
                var session = new TrainingSession<RbmEpochMetrics>(trainer, SessionRunner.Options(context, epochs, outDir, checkpointEvery, DataParallelOption.Record(SessionRunner.DataMetadata(dataDir, limit, data.Description), parallel)), checkpoint);
                session.EpochCompleted += m => context.Note(Invariant($"epoch {m.Epoch,3}: {m.Seconds,7:F2} s ({m.SamplesPerSecond,7:F0} images/s)  recon {m.ReconstructionError,8:F3}  PLL {m.PseudoLogLikelihood,9:F3}  free-energy gap {m.FreeEnergyGap,7:F3}"));
                int code = SessionRunner.Run(context, session, "rbm train", outDir);
                if (code != 0)
                    return code;
                SavePictures(device, trainer, outDir, train.Rows, train.Cols, sampleSteps, o.Seed, context.Cluster.IsRoot);
                Print(context, session, Config(trainer.Options, trainer.Model.Visible, trainer.Model.Hidden, train.Count, test.Count, data.Description, device.Info.Kind));
            }
            return 0;
        }

        private static readonly string[] GridKeys = ["lr", "weight-decay", "final-momentum"];
        private static readonly string[] ShapeKeys = ["hidden", "batch", "k", "sampler", "epochs"];

        /// <summary>
        /// <c>--seeds</c> / <c>--grid</c>: one RBM per combination, all advanced together step by step
        /// (<see cref="ModelGrid{TMetrics}"/>), each in its own folder under --out, as if trained alone.
        /// </summary>
        private static int RunGrid(CommandContext context)
        {
            var a = context.Args;
            var baseOptions = ParseOptions(a) with { MonitorRows = a.GetInt("monitor-rows", 0) };
            var models = GridOption.Parse(a, baseOptions.Seed, GridKeys, ShapeKeys);
            var (first, count) = SessionRunner.GridShare(context, models.Count);
            string? dataDir = a.Get("data");
            int? limit = a.Has("limit") ? a.GetInt("limit", 0) : null;
            var (checkpointEvery, sampleSteps, epochs) = GridRunFlags(a, limit);
            int hidden = a.GetInt("hidden", 500);
            if (hidden < 1)
                throw new UsageException("--hidden must be >= 1");
            var options = new RbmTrainerOptions[models.Count];
            for (int i = 0; i < models.Count; i++)
            {
                var m = models[i];
                options[i] = baseOptions with
                {
                    Seed = m.Seed,
                    LearningRate = m.Get("lr") ?? baseOptions.LearningRate,
                    WeightDecay = m.Get("weight-decay") ?? baseOptions.WeightDecay,
                    FinalMomentum = m.Get("final-momentum") ?? baseOptions.FinalMomentum,
                };
                try
                {
                    options[i].Validate();
                }
                catch (InfoGpuException e)
                {
                    throw new UsageException($"--grid model {m.Folder}: {e.Message}");
                }
            }
            string outDir = a.Get("out") ?? "rbm-out";
            GridOption.CheckIndex(a, outDir);

            var data = FashionMnist.Load(dataDir, limit);
            SessionRunner.RequireTestImages(data);
            using var device = DeviceOption.Open(context);
            var prepared = Prepare(context, data, baseOptions.Binarize);
            var trainers = new List<RbmTrainer>(count);
            try
            {
                for (int i = first; i < first + count; i++)
                {
                    var o = options[i];
                    var d = prepared(o.Seed);
                    var rbm = Rbm.Initialize(d.Train.Pixels, hidden, o.Seed, d.Train.PixelMeans(), o.Sparse ? o.SparsityTarget : null);
                    trainers.Add(new RbmTrainer(device, rbm, d.Train.Images, d.Test.Images, o));
                }
                context.Note(Invariant($"grid of {models.Count} RBMs {trainers[0].Model.Visible} visible x {hidden} hidden; {baseOptions.Sampler.ToString().ToUpperInvariant()}-{baseOptions.K}, batch {baseOptions.BatchSize}; one folder each under {outDir}"));
                var config = Config(baseOptions, trainers[0].Model.Visible, hidden, data.Train.Count, data.Test.Count, data.Description, device.Info.Kind);
                config.Remove("seed");
                foreach (var (k, field) in new[] { ("lr", "lr"), ("weight-decay", "weight_decay"), ("final-momentum", "momentum") })
                {
                    if (models[0].Get(k) is not null)
                        config.Remove(field);
                }
                return TrainGrid(context, device, trainers, first, null, models, prepared, outDir, config, epochs, checkpointEvery, sampleSteps, SessionRunner.DataMetadata(dataDir, limit, data.Description));
            }
            finally
            {
                for (int i = trainers.Count - 1; i >= 0; i--)
                    trainers[i].Dispose();
            }
        }

        /// <summary><c>--resume DIR</c> on a grid's folder (it holds grid.json): every model continues from its checkpoint, the grid together.</summary>
        private static int ResumeGrid(CommandContext context, string dir)
        {
            var a = context.Args;
            var fixedFlags = new[] { "hidden", "sampler", "k", "batch", "momentum", "weight-decay", "sparsity-target", "sparsity-cost", "seed", "lr", "binarize", "out", "overwrite", "monitor-rows" }.Where(a.Has).Select(f => "--" + f).ToList();
            if (fixedFlags.Count > 0)
                throw new UsageException($"{string.Join(", ", fixedFlags)} cannot change when a grid resumes: its models keep their settings and folders (only --epochs, --checkpoint-every, --sample-steps, --data and --limit may be given)");
            var (config, models) = GridOption.ReadIndex(dir, "rbm train");
            var (first, count) = SessionRunner.GridShare(context, models.Count);
            var checkpoints = SessionRunner.ReadGridCheckpoints(context, dir, models, RbmCheckpoint.Format, "an RBM", "infogpu rbm train");
            var stored = checkpoints.Select(RbmCheckpoint.ReadOptions).ToList();
            string? dataDir = a.Get("data") ?? SessionRunner.Stored(checkpoints[0], "data_dir");
            int? limit = a.Has("limit") ? a.GetInt("limit", 0) : SessionRunner.StoredLimit(checkpoints[0]);
            var (checkpointEvery, sampleSteps, epochs) = GridRunFlags(a, limit);
            var data = FashionMnist.Load(dataDir, limit);
            SessionRunner.RequireTestImages(data);
            using var device = DeviceOption.Open(context);
            var prepared = Prepare(context, data, stored[0].Binarize);
            var trainers = new List<RbmTrainer>(count);
            try
            {
                for (int i = first; i < first + count; i++)
                {
                    var d = prepared(stored[i].Seed);
                    trainers.Add(RbmTrainer.Resume(device, checkpoints[i], d.Train.Images, d.Test.Images));
                }
                context.Note($"resuming the grid of {models.Count} RBMs in {dir} at epoch {trainers[0].Epoch}, step {trainers[0].StepInEpoch} of the epoch");
                return TrainGrid(context, device, trainers, first, checkpoints, models, prepared, dir, config, epochs, checkpointEvery, sampleSteps, SessionRunner.DataMetadata(dataDir, limit, data.Description));
            }
            finally
            {
                for (int i = trainers.Count - 1; i >= 0; i--)
                    trainers[i].Dispose();
            }
        }

        private static (int CheckpointEvery, int SampleSteps, int Epochs) GridRunFlags(Args a, int? limit)
        {
            int checkpointEvery = a.GetInt("checkpoint-every", 0);
            int sampleSteps = a.GetInt("sample-steps", 1000);
            int epochs = a.Has("epochs") ? a.GetInt("epochs") : 0;
            if (checkpointEvery < 0 || sampleSteps < 1 || limit is < 1 || (a.Has("epochs") && epochs < 1))
                throw new UsageException("--checkpoint-every must be >= 0, --sample-steps, --limit and --epochs >= 1");
            return (checkpointEvery, sampleSteps, epochs);
        }

        /// <summary>The data as a model with a given seed sees it alone: the same for every seed unless binarized stochastically from the seed (prepared once per seed).</summary>
        private static Func<ulong, (ImageSet Train, ImageSet Test)> Prepare(CommandContext context, Dataset data, BinarizeMode mode)
        {
            context.Note($"data: {data.Description}, {(mode == BinarizeMode.Stochastic ? "binarized once as Bernoulli(pixel/255) from each model's seed" : BinarizeText(mode, 0))}; {data.Train.Count} train / {data.Test.Count} test images");
            var cache = new Dictionary<ulong, (ImageSet Train, ImageSet Test)>();
            return seed =>
            {
                ulong key = mode == BinarizeMode.Stochastic ? seed : 0;
                if (!cache.TryGetValue(key, out var d))
                    cache[key] = d = (data.Train.AsVisibleData(mode, seed, heldOut: false), data.Test.AsVisibleData(mode, seed, heldOut: true));
                return d;
            };
        }

        /// <summary>
        /// Sessions, the grid's run, each model's pictures, the index and the report: what a new and a
        /// resumed grid share. <paramref name="trainers"/> are this process's models, from model
        /// <paramref name="first"/> on: all of them in one process, this rank's block under mpirun
        /// (<see cref="DistributedGrid{TMetrics}"/>; rank 0 then writes and prints for every model).
        /// </summary>
        private static int TrainGrid(
            CommandContext context, Devices.ComputeDevice device, List<RbmTrainer> trainers, int first, List<TensorSet>? resumedFrom, IReadOnlyList<GridModel> models,
            Func<ulong, (ImageSet Train, ImageSet Test)> prepared, string outDir, JsonObject config, int epochs, int checkpointEvery, int sampleSteps, Dictionary<string, string> metadata)
        {
            Action<int, RbmEpochMetrics> note = (i, m) => context.Note(Invariant($"{models[i].Folder} epoch {m.Epoch,3}: {m.Seconds,7:F2} s  recon {m.ReconstructionError,8:F3}  PLL {m.PseudoLogLikelihood,9:F3}  free-energy gap {m.FreeEnergyGap,7:F3}"));
            var (code, sessions, fused, spread) = SessionRunner.TrainGrid(context, "rbm train", trainers, first, resumedFrom, models, outDir, config, epochs, checkpointEvery, metadata, note);
            if (code != 0 || !context.Cluster.IsRoot)
                return code;
            for (int i = 0; i < models.Count; i++)
            {
                string folder = Path.Combine(outDir, models[i].Folder);
                if (i >= first && i < first + trainers.Count)
                {
                    var o = trainers[i - first].Options;
                    var d = prepared(o.Seed);
                    SavePictures(device, trainers[i - first], folder, d.Train.Rows, d.Train.Cols, sampleSteps, o.Seed, isRoot: true);
                }
                else if (spread?.ReceivedState(i) is TensorSet state)
                {
                    // Another rank's model: drawn here from its last state, as its rank would have.
                    var d = prepared(RbmCheckpoint.ReadOptions(state).Seed);
                    using var trainer = RbmTrainer.Resume(device, state, d.Train.Images, d.Test.Images);
                    SavePictures(device, trainer, folder, d.Train.Rows, d.Train.Cols, sampleSteps, trainer.Options.Seed, isRoot: true);
                }
            }
            var index = GridOption.Index("rbm train", outDir, config, models, sessions, fused);
            GridOption.WriteIndex(outDir, index);
            if (context.Args.Json)
            {
                Json.Write(context.Out, index);
                return 0;
            }
            context.Out.WriteLine(string.Join("  ", new[] { "model", "recon_err", "PLL", "F gap" }.Select((h, i) => i == 0 ? h.PadRight(32) : h.PadLeft(10))));
            for (int i = 0; i < models.Count; i++)
            {
                var m = sessions[i].History[^1];
                string[] cells = [models[i].Folder, F(m.ReconstructionError, 4), F(m.PseudoLogLikelihood, 4), F(m.FreeEnergyGap, 4)];
                context.Out.WriteLine(string.Join("  ", cells.Select((c, j) => j == 0 ? c.PadRight(32) : c.PadLeft(10))));
            }
            context.Out.WriteLine($"{models.Count} models in {outDir}, indexed in {Path.Combine(outDir, GridOption.IndexFile)}");
            return 0;
        }

        private static void Print(CommandContext context, TrainingSession<RbmEpochMetrics> session, JsonObject config)
        {
            var rows = session.NewEpochs;
            if (context.Args.Json)
            {
                var epochs = new JsonArray();
                foreach (var m in rows)
                {
                    epochs.Add(new JsonObject
                    {
                        ["epoch"] = m.Epoch,
                        ["seconds"] = Json.Number(m.Seconds),
                        ["samples_per_s"] = Json.Number(m.SamplesPerSecond),
                        ["cpu_seconds"] = Json.Number(m.CpuSeconds),
                        ["momentum"] = Json.Number(m.Momentum),
                        ["reconstruction_error"] = Json.Number(m.ReconstructionError),
                        ["pseudo_log_likelihood"] = Json.Number(m.PseudoLogLikelihood),
                        ["pseudo_log_likelihood_all_bits"] = Json.Number(m.PseudoLogLikelihoodAllBits),
                        ["free_energy_train"] = Json.Number(m.MeanFreeEnergyTrain),
                        ["free_energy_test"] = Json.Number(m.MeanFreeEnergyTest),
                        ["free_energy_gap"] = Json.Number(m.FreeEnergyGap),
                    });
                }
                Json.Write(context.Out, new JsonObject { ["config"] = config, ["epochs"] = epochs, ["model"] = session.CheckpointPath });
                return;
            }
            context.Out.WriteLine(string.Join("  ", new[] { "epoch", "seconds", "images/s", "recon_err", "PLL", "F gap" }.Select((h, i) => h.PadLeft(i == 0 ? 5 : 10))));
            foreach (var m in rows)
            {
                string[] cells = [m.Epoch.ToString(CultureInfo.InvariantCulture), F(m.Seconds, 3), F(m.SamplesPerSecond, 0), F(m.ReconstructionError, 4), F(m.PseudoLogLikelihood, 4), F(m.FreeEnergyGap, 4)];
                context.Out.WriteLine(string.Join("  ", cells.Select((c, i) => c.PadLeft(i == 0 ? 5 : 10))));
            }
            context.Out.WriteLine($"model: {session.CheckpointPath}; filters.png, samples.png and metrics.csv in {Path.GetDirectoryName(session.CheckpointPath)}");
        }



        private static string F(double v, int digits) => v.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private sealed class Eval : IDistributedCommand
    {
        /// <summary>The engine's AIS defaults, which the options declare.</summary>
        private static readonly Evaluation.AisOptions Ais = new();

        public CommandSpec Spec { get; } = new(
            "rbm eval",
            "log partition function (AIS, or exact for few hidden units) and log-likelihoods of a trained RBM",
            "--model M [--data DIR] [--exact] [--ais-runs 100] [--ais-betas 14500] [--seed 1] [--limit N] [--binarize threshold|stochastic|none] [--accelerator KIND] [--json]",
            [
                OptionSpec.File("model", "M", "a model.safetensors written by 'infogpu rbm train' (or its folder)"),
                OptionSpec.File("data", "DIR", "IDX folder; default: /usr/share/datasets/fashion-mnist, else the embedded subset"),
                OptionSpec.Flag("exact", "also enumerate the hidden configurations for the exact log Z (at most 24 hidden units)"),
                OptionSpec.Int("ais-runs", "R", Invariant($"parallel AIS runs (default {Ais.Runs})"), Ais.Runs),
                OptionSpec.Int("ais-betas", "K", Invariant($"intermediate distributions, the paper's schedule scaled (default {Ais.Betas})"), Ais.Betas),
                OptionSpec.Int("seed", "S", "seed of the AIS runs and of the pseudo-log-likelihood's pixels (default 1)", 1),
                OptionSpec.Int("limit", "N", "use the first N training and min(N, 10000) test images"),
                OptionSpec.Choice("binarize", "how the images become visible data (default: the mode the model was trained with, stored in its checkpoint; threshold for a checkpoint without one). With none, the pseudo-log-likelihood, reconstruction error and free energies score the grey levels as they are, while the log-likelihoods (AIS and exact), defined for binary images only, are of the test images binarized at 0.5", Binarizations),
                CommandSpec.Accelerator,
            ],
            ["infogpu rbm eval --model out/rbm/model.safetensors", "infogpu rbm eval --model out/small --exact --ais-betas 5000 --json"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string model = a.Require("model");
            if (Directory.Exists(model))
                model = Path.Combine(model, ModelFile);
            if (!File.Exists(model))
                throw new InfoGpuException($"--model {model}: no such file; give a model.safetensors written by 'infogpu rbm train'");
            int runs = a.GetInt("ais-runs"), betas = a.GetInt("ais-betas"), seed = a.GetInt("seed", 1);
            if (runs < 2 || betas < 3 || seed < 0)
                throw new UsageException("--ais-runs must be >= 2, --ais-betas >= 3 and --seed >= 0");
            var rbm = RbmCheckpoint.LoadModel(model, out bool verified);
            if (!verified)
                context.Err.WriteLine($"note: {model} has no InfoGpu checksum (written by another tool): its tensors were read as they are, not verified");
            var set = verified ? RbmCheckpoint.Read(model) : null;
            var trained = set is not null && set.Metadata.ContainsKey("config") ? RbmCheckpoint.ReadOptions(set) : null;
            var mode = a.Has("binarize") ? ParseBinarize(a) : trained?.Binarize ?? BinarizeMode.Threshold;
            ulong dataSeed = trained?.Seed ?? (ulong)seed;
            var data = FashionMnist.Load(a.Get("data"), a.Has("limit") ? a.GetInt("limit", 0) : null);
            var train = data.Train.AsVisibleData(mode, dataSeed, heldOut: false);
            var test = data.Test.AsVisibleData(mode, dataSeed, heldOut: true);
            // The likelihood is defined for binary images: with grey levels it is of the test images binarized at 0.5.
            var trainBinary = mode == BinarizeMode.None ? data.Train.Binarized() : train;
            var testBinary = mode == BinarizeMode.None ? data.Test.Binarized() : test;
            if (train.Pixels != rbm.Visible)
                throw new InfoGpuException($"the model has {rbm.Visible} visible units but the images have {train.Pixels} pixels");
            using var device = DeviceOption.Open(context);
            context.Note($"model {model}: {rbm.Visible} visible x {rbm.Hidden} hidden; data: {data.Description}, {BinarizeText(mode, dataSeed)}{(mode == BinarizeMode.None ? " (log-likelihoods: binarized at 0.5)" : "")}");
            double? exact = null;
            if (a.Has("exact"))
                exact = Evaluation.RbmExactLikelihood.LogPartitionByHidden(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias);
            context.Note($"AIS: {runs} runs x {betas} intermediate distributions ...");
            var baseBias = Evaluation.AnnealedImportanceSampling.BaseRateBiases(trainBinary.Images, trainBinary.Count, rbm.Visible);
            Evaluation.AisResult ais;
            using (var bar = TerminalBar.For(context, "AIS"))
                ais = Evaluation.AnnealedImportanceSampling.EstimateLogPartition(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias, baseBias, new Evaluation.AisOptions(runs, betas, (ulong)seed), bar, cluster: context.Cluster);
            double aisSeconds = ais.Seconds;
            using var ev = new RbmEvaluator(device, rbm.Visible, rbm.Hidden);
            var flips = new NumpyLegacyRandom((uint)seed).RandInt(0, rbm.Visible, test.Count);
            var testScores = ev.Evaluate(rbm, test.Images, flips);
            var testLikelihoodScores = mode == BinarizeMode.None ? ev.Evaluate(rbm, testBinary.Images) : testScores;
            var trainScores = ev.Evaluate(rbm, trainBinary.Images);
            double testLl = -testLikelihoodScores.MeanFreeEnergy - ais.LogZ, trainLl = -trainScores.MeanFreeEnergy - ais.LogZ;
            if (a.Json)
            {
                Json.Write(context.Out, new JsonObject
                {
                    ["log_z"] = Json.Number(ais.LogZ),
                    ["log_z_stderr"] = Json.Number(ais.LogZStdErr),
                    ["log_z_low_3sigma"] = Json.Number(ais.LogZLow),
                    ["log_z_high_3sigma"] = Json.Number(ais.LogZHigh),
                    ["log_z_exact"] = exact is double e ? Json.Number(e) : null,
                    ["test_log_likelihood"] = Json.Number(testLl),
                    ["train_log_likelihood"] = Json.Number(trainLl),
                    ["test_log_likelihood_exact"] = exact is double e2 ? Json.Number(-testLikelihoodScores.MeanFreeEnergy - e2) : null,
                    ["pseudo_log_likelihood"] = Json.Number(testScores.PseudoLogLikelihood),
                    ["reconstruction_error"] = Json.Number(testScores.ReconstructionError),
                    ["binarize_mode"] = BinarizeName(mode),
                    ["log_likelihood_data"] = mode == BinarizeMode.None ? "test images binarized at 0.5 (the likelihood is defined for binary images)" : "the test images as prepared by binarize_mode",
                    ["ais_runs"] = runs,
                    ["ais_betas"] = betas,
                    ["ais_seconds"] = Json.Number(aisSeconds),
                    ["model"] = model,
                    ["verified"] = verified,
                });
            }
            else
            {
                context.Out.WriteLine(FormattableString.Invariant($"log Z (AIS, {runs} runs x {betas} betas): {ais.LogZ:F4} +- {ais.LogZStdErr:F4}  (3-sigma interval [{ais.LogZLow:F4}, {ais.LogZHigh:F4}], {aisSeconds:F1} s)"));
                if (exact is double ex)
                    context.Out.WriteLine(FormattableString.Invariant($"log Z (exact): {ex:F4}"));
                context.Out.WriteLine(FormattableString.Invariant($"test log-likelihood: {testLl:F3} nats per image ({test.Count} images{(mode == BinarizeMode.None ? ", binarized at 0.5" : "")}); train: {trainLl:F3}"));
                if (exact is double ex2)
                    context.Out.WriteLine(FormattableString.Invariant($"test log-likelihood with the exact log Z: {-testLikelihoodScores.MeanFreeEnergy - ex2:F3}"));
                context.Out.WriteLine(FormattableString.Invariant($"pseudo-log-likelihood: {testScores.PseudoLogLikelihood:F3}; reconstruction error: {testScores.ReconstructionError:F3}"));
            }
            return 0;
        }
    }

    internal static RbmTrainerOptions ParseOptions(Args a)
    {
        string sampler = a.GetOrDefault("sampler")!;
        var kind = sampler switch
        {
            "cd" => RbmSamplerKind.Cd,
            "pcd" => RbmSamplerKind.Pcd,
            _ => throw new UsageException($"--sampler '{sampler}' is not cd or pcd"),
        };
        var d = new RbmTrainerOptions();
        double m1 = d.InitialMomentum, m2 = d.FinalMomentum;
        if (a.Has("momentum"))
        {
            var list = a.GetList("momentum");
            if (list.Length is < 1 or > 2)
                throw new UsageException("--momentum takes one value or two (FIRST,LATER), e.g. 0.5,0.9");
            m1 = list[0];
            m2 = list[^1];
        }
        bool hasTarget = a.Has("sparsity-target"), hasCost = a.Has("sparsity-cost");
        if (hasTarget != hasCost)
            throw new UsageException("give --sparsity-target and --sparsity-cost together");
        int seed = a.GetInt("seed", (int)d.Seed);
        if (seed < 0)
            throw new UsageException("--seed must be >= 0");
        var options = d with
        {
            Binarize = ParseBinarize(a),
            Sampler = kind,
            K = a.GetInt("k", d.K),
            Epochs = a.GetInt("epochs", d.Epochs),
            BatchSize = a.GetInt("batch", d.BatchSize),
            LearningRate = a.GetDouble("lr", d.LearningRate),
            InitialMomentum = m1,
            FinalMomentum = m2,
            WeightDecay = a.GetDouble("weight-decay", d.WeightDecay),
            SparsityTarget = a.GetDouble("sparsity-target", d.SparsityTarget),
            SparsityCost = a.GetDouble("sparsity-cost", d.SparsityCost),
            Seed = (ulong)seed,
        };
        try
        {
            options.Validate();
        }
        catch (InfoGpuException e)
        {
            throw new UsageException(e.Message);
        }
        return options;
    }

    /// <summary>The values of <c>--binarize</c>.</summary>
    internal static string[] Binarizations => ["threshold", "stochastic", "none"];

    /// <summary>The <c>--binarize</c> option of <c>rbm train</c> and <c>rbm eval</c>.</summary>
    internal static OptionSpec BinarizeOption => OptionSpec.Choice("binarize",
        "how the grey-level images in [0, 1] become visible data: threshold at 0.5, stochastic (each pixel drawn once as Bernoulli(intensity) from the seed: a fixed binary data set), or none (the grey levels themselves, as scikit-learn's BernoulliRBM takes them: the positive phase uses them directly, CD chains start from them, and the monitors score them as they are). Stored in the checkpoint; --resume keeps it and 'rbm eval' uses it", Binarizations, "threshold");

    /// <summary>The mode of <c>--binarize</c> (threshold when absent).</summary>
    internal static BinarizeMode ParseBinarize(Args a) => (a.Get("binarize") ?? "threshold") switch
    {
        "threshold" => BinarizeMode.Threshold,
        "stochastic" => BinarizeMode.Stochastic,
        "none" => BinarizeMode.None,
        var v => throw new UsageException($"--binarize '{v}' is not threshold, stochastic or none"),
    };

    /// <summary>The console's name of a mode.</summary>
    internal static string BinarizeName(BinarizeMode mode) => mode switch
    {
        BinarizeMode.Stochastic => "stochastic",
        BinarizeMode.None => "none",
        _ => "threshold",
    };

    private static string BinarizeText(BinarizeMode mode, ulong seed) => mode switch
    {
        BinarizeMode.Stochastic => string.Create(CultureInfo.InvariantCulture, $"binarized once as Bernoulli(pixel/255) from seed {seed}"),
        BinarizeMode.None => "grey levels pixel/255 as data (not binarized)",
        _ => "binarized at 0.5",
    };

    private static JsonObject Config(RbmTrainerOptions o, int nv, int nh, int trainCount, int testCount, string data, string device) => new()
    {
        ["sampler"] = o.Sampler == RbmSamplerKind.Pcd ? "pcd" : "cd",
        ["k"] = o.K,
        ["visible"] = nv,
        ["hidden"] = nh,
        ["epochs"] = o.Epochs,
        ["batch"] = o.BatchSize,
        ["lr"] = o.LearningRate,
        ["momentum"] = new JsonArray(o.InitialMomentum, o.FinalMomentum),
        ["momentum_switch"] = o.MomentumSwitchEpochs,
        ["weight_decay"] = o.WeightDecay,
        ["sparsity_target"] = o.SparsityTarget,
        ["sparsity_cost"] = o.SparsityCost,
        ["seed"] = o.Seed,
        ["pcd_chains"] = o.Sampler == RbmSamplerKind.Pcd ? o.ChainCount : null,
        ["train_images"] = trainCount,
        ["test_images"] = testCount,
        ["data"] = data,
        ["binarize"] = o.Binarize switch
        {
            BinarizeMode.Stochastic => "Bernoulli(pixel/255), drawn once from the seed",
            BinarizeMode.None => "none: grey levels pixel/255",
            _ => "pixel/255 > 0.5",
        },
        ["binarize_mode"] = BinarizeName(o.Binarize),
        ["accelerator"] = device,
    };

    private static void SavePictures(Devices.ComputeDevice device, RbmTrainer trainer, string outDir, int side1, int side2, int steps, ulong seed, bool isRoot)
    {
        var rbm = trainer.Model;
        int nv = rbm.Visible, nh = rbm.Hidden;
        bool square = side1 * side2 == nv;
        int tr = square ? side1 : 1, tc = square ? side2 : nv;
        // Filter j is column j of W: element i at i * nh + j.
        if (isRoot)
            ImageTiles.Save(Path.Combine(outDir, "filters.png"), rbm.Weights, Math.Min(100, nh), tr, tc, 1, nh, 10, normalizeEach: true);
        // Under MPI gathering the chains is a collective call: every rank makes it, rank 0 draws and writes.
        var state = trainer.Options.Sampler == RbmSamplerKind.Pcd ? trainer.CaptureChains() : null;
        if (!isRoot)
            return;
        int chains = state is null ? 100 : Math.Min(100, state.Length / nv);
        var start = state is null ? default : state.AsSpan(0, chains * nv);
        var samples = RbmSampler.Sample(device, rbm, chains, steps, seed, start);
        ImageTiles.Save(Path.Combine(outDir, "samples.png"), samples, chains, tr, tc, nv, 1, 10, normalizeEach: false);
    }
}
