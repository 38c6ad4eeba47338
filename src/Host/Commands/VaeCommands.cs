using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Distributed;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Training;
using InfoGpu.Variational;
using static System.FormattableString;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu vae train</c>, <c>vae eval</c> and <c>vae sweep-beta</c>: the chapter's VAE on Fashion-MNIST.</summary>
internal static class VaeCommands
{
    private const string ModelFile = "model.safetensors";

    private static readonly OptionSpec[] DataOptions =
    [
        OptionSpec.File("data", "DIR", "folder with Fashion-MNIST/MNIST IDX files (default: /usr/share/datasets/fashion-mnist if installed, else the embedded 5000/1000 subset)"),
        OptionSpec.Int("limit", "N", "first N training images and first min(N, 10000) test images"),
    ];

    private static readonly VaeTrainerOptions D = new();

    private static readonly OptionSpec[] TrainOptions =
    [
        OptionSpec.Int("hidden", "H", Invariant($"hidden units of encoder and decoder (default {D.Hidden})"), D.Hidden),
        OptionSpec.Int("latent", "L", Invariant($"latent dimensions (default {D.Latent})"), D.Latent),
        OptionSpec.Double("beta", "B", Invariant($"weight of the KL term (default {D.Beta})"), D.Beta),
        OptionSpec.Int("epochs", "E", Invariant($"passes over the training set (default {D.Epochs})"), D.Epochs),
        OptionSpec.Int("batch", "N", Invariant($"mini-batch size (default {D.BatchSize})"), D.BatchSize),
        OptionSpec.Double("lr", "R", Invariant($"Adam learning rate (default {D.LearningRate})"), D.LearningRate),
        OptionSpec.Flag("binarize", "threshold pixels at 0.5 (default: grey levels in [0, 1])"),
        OptionSpec.Int("seed", "S", Invariant($"Philox seed of initialisation, shuffles and noise (default {D.Seed})"), (int)D.Seed),
    ];

    // After the option lists: static fields initialise in textual order.
    public static IReadOnlyList<ICommand> All { get; } = [new Train(), new Eval(), new SweepBeta()];

    private static Dataset LoadData(CommandContext context) => LoadData(context, context.Args.Get("data"), ReadLimit(context.Args));

    private static int? ReadLimit(Args a)
    {
        int? limit = a.Has("limit") ? a.GetInt("limit", 0) : null;
        return limit is < 1 ? throw new UsageException("--limit must be >= 1") : limit;
    }

    private static Dataset LoadData(CommandContext context, string? dataDir, int? limit)
    {
        var data = FashionMnist.Load(dataDir, limit);
        context.Note(data.Description);
        return data;
    }

    private static VaeTrainerOptions ReadOptions(Args a)
    {
        int seed = a.GetInt("seed", (int)D.Seed);
        if (seed < 0)
            throw new UsageException("--seed must be >= 0");
        var o = D with
        {
            LearningRate = a.GetDouble("lr", D.LearningRate),
            BatchSize = a.GetInt("batch", D.BatchSize),
            Beta = a.Declares("beta") ? a.GetDouble("beta", D.Beta) : D.Beta,
            Epochs = a.GetInt("epochs", D.Epochs),
            Seed = (ulong)seed,
            Binarize = a.Has("binarize"),
            Hidden = a.GetInt("hidden", D.Hidden),
            Latent = a.GetInt("latent", D.Latent),
        };
        if (!(o.LearningRate > 0) || o.BatchSize < 1 || !(o.Beta >= 0) || o.Epochs < 1 || o.Hidden < 1 || o.Latent < 1)
            throw new UsageException("--lr must be > 0, --batch, --epochs, --hidden and --latent >= 1, --beta >= 0");
        return o;
    }

    private static JsonObject Config(Vae vae, VaeTrainerOptions o, Dataset data, string device) => new()
    {
        ["input"] = vae.Input,
        ["hidden"] = vae.Hidden,
        ["latent"] = vae.Latent,
        ["beta"] = o.Beta,
        ["epochs"] = o.Epochs,
        ["batch"] = o.BatchSize,
        ["lr"] = o.LearningRate,
        ["binarize"] = o.Binarize,
        ["seed"] = o.Seed,
        ["optimizer"] = "Adam (0.9, 0.999, 1e-8)",
        ["loss"] = "BCE(sum over pixels) + beta KL, per-example means reported",
        ["data"] = data.Description,
        ["train_images"] = data.Train.Count,
        ["test_images"] = data.Test.Count,
        ["device"] = device,
    };

    private sealed class Train : IDistributedCommand
    {
        public CommandSpec Spec { get; } = new(
            "vae train",
            "train the chapter's VAE (784-400-20, ReLU, Bernoulli decoder, BCE + beta KL, Adam) on Fashion-MNIST",
            Invariant($"[--data DIR] [--limit N] [--hidden {D.Hidden}] [--latent {D.Latent}] [--beta {D.Beta}] [--epochs {D.Epochs}] [--batch {D.BatchSize}] [--lr {D.LearningRate}] [--binarize] [--seed {D.Seed}] [--out DIR [--overwrite]] [--resume DIR] [--checkpoint-every N] [--shards N] [--seeds 1-8] [--grid \"lr=1e-3,3e-3;beta=0.5,1\"] [--accelerator KIND] [--json]"),
            [
                .. DataOptions,
                .. TrainOptions,
                OptionSpec.Int("shards", "N", "split every batch into N shards whose gradients are added in shard order, as N MPI ranks do (default 1; under mpirun: the number of ranks)"),
                OptionSpec.File("out", "DIR", "write DIR/metrics.csv, DIR/model.safetensors (with the Adam state), reconstructions.png, samples.png, latent.png"),
                OptionSpec.File("resume", "DIR", "continue the run whose checkpoint is DIR/model.safetensors, with its settings and data (--epochs sets the new total)"),
                OptionSpec.Flag("overwrite", "replace the run already in the --out folder (default: refuse, and say how to resume it)"),
                OptionSpec.Int("checkpoint-every", "N", "also write the checkpoint every N training steps (mini-batches) (default: only at the end of every epoch and on Ctrl-C)"),
                GridOption.Seeds,
                GridOption.Stepping,
                GridOption.Grid("lr, beta"),
                CommandSpec.Accelerator,
            ],
            ["infogpu vae train --epochs 10 --out out/vae", "infogpu vae train --seeds 1-4 --grid \"beta=0.5,1,2\" --epochs 5 --out out/vae-grid", "infogpu vae train --limit 5000 --epochs 2 --json", "infogpu vae train --resume out/vae --epochs 20"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            if (GridOption.Requested(a))
                return RunGrid(context);
            string? resume = a.Get("resume");
            if (resume is not null && GridOption.IsGrid(resume))
                return ResumeGrid(context, resume);
            GridOption.ParseStepping(a, grid: false);
            string? outDir = a.Get("out") ?? resume;
            int every = a.GetInt("checkpoint-every", 0);
            int epochs = a.Has("epochs") ? a.GetInt("epochs") : 0;
            if (every < 0 || (a.Has("epochs") && epochs < 1))
                throw new UsageException("--checkpoint-every must be >= 0 and --epochs >= 1");
            if (every > 0 && outDir is null)
                throw new UsageException("--checkpoint-every needs --out DIR (or --resume DIR): the folder the checkpoint goes to");
            var checkpoint = resume is null ? null : TrainingSession.ReadCheckpoint(resume, VaeCheckpoint.Format, "a VAE", "infogpu vae train");
            double? newLr = checkpoint is null ? null : SessionRunner.CheckResumeFlags(context, ["hidden", "latent", "beta", "batch", "binarize", "seed"]);
            // The data of the run comes from the checkpoint unless given again.
            string? dataDir = a.Get("data") ?? SessionRunner.Stored(checkpoint, "data_dir");
            int? limit = ReadLimit(a) ?? SessionRunner.StoredLimit(checkpoint);
            var options = checkpoint is null ? ReadOptions(a) : null;
            var parallel = DataParallelOption.Parse(context, checkpoint);
            var data = LoadData(context, dataDir, limit);
            SessionRunner.RequireTestImages(data);
            using var device = DeviceOption.Open(context);
            VaeTrainer trainer;
            if (checkpoint is not null)
            {
                trainer = VaeTrainer.Resume(device, checkpoint, data, parallel);
                SessionRunner.ApplyLearningRate(context, newLr, trainer);
                context.Note($"resuming {checkpoint.Source}: {trainer.Epoch} epochs and {trainer.Step} steps done");
            }
            else
            {
                trainer = new VaeTrainer(device, Vae.Create(data.Train.Pixels, options!.Hidden, options.Latent, options.Seed), data, options, parallel);
            }
            using (trainer)
            {
                var o = trainer.Options;
                var vae = trainer.Vae;
                context.Note(Invariant($"VAE {vae.Input}-{vae.Hidden}-{vae.Latent}: beta {o.Beta}, batch {o.BatchSize}, lr {o.LearningRate}, {(epochs > 0 ? epochs : o.Epochs)} epochs, seed {o.Seed}{(o.Binarize ? ", binarized" : "")}"));
                DataParallelOption.Note(context, parallel);
                var session = new TrainingSession<VaeEpochMetrics>(trainer, SessionRunner.Options(context, epochs, outDir, every, DataParallelOption.Record(SessionRunner.DataMetadata(dataDir, limit, data.Description), parallel)), checkpoint);
                session.EpochCompleted += r => context.Note(Invariant($"epoch {r.Epoch,3}: {r.Seconds:F2} s  train {r.TrainLoss:F4}  test {r.TestLoss:F4} (BCE {r.TestReconstruction:F4}, KL {r.TestKl:F4})"));
                int code = SessionRunner.Run(context, session, "vae train", outDir);
                if (code != 0)
                    return code;
                if (outDir is not null && context.Cluster.IsRoot)
                    SavePictures(outDir, trainer, data);
                Print(context, session, Config(vae, trainer.Options, data, device.Info.Kind));
            }
            return 0;
        }

        private static readonly string[] GridKeys = ["lr", "beta"];
        private static readonly string[] ShapeKeys = ["hidden", "latent", "batch", "epochs", "binarize"];

        /// <summary>
        /// <c>--seeds</c> / <c>--grid</c>: one VAE per combination, all advanced together step by step
        /// (<see cref="ModelGrid{TMetrics}"/>), each in its own folder under --out, as if trained alone.
        /// </summary>
        private static int RunGrid(CommandContext context)
        {
            var a = context.Args;
            var baseOptions = ReadOptions(a);
            var models = GridOption.Parse(a, baseOptions.Seed, GridKeys, ShapeKeys);
            var (first, count) = SessionRunner.GridShare(context, models.Count);
            int every = a.GetInt("checkpoint-every", 0);
            int epochs = a.Has("epochs") ? a.GetInt("epochs") : 0;
            if (every < 0 || (a.Has("epochs") && epochs < 1))
                throw new UsageException("--checkpoint-every must be >= 0 and --epochs >= 1");
            var options = new VaeTrainerOptions[models.Count];
            for (int i = 0; i < models.Count; i++)
            {
                var m = models[i];
                options[i] = baseOptions with { Seed = m.Seed, LearningRate = m.Get("lr") ?? baseOptions.LearningRate, Beta = m.Get("beta") ?? baseOptions.Beta };
                if (!(options[i].LearningRate > 0) || !(options[i].Beta >= 0))
                    throw new UsageException($"--grid model {m.Folder}: lr must be > 0 and beta >= 0");
            }
            string outDir = a.Get("out") ?? "vae-out";
            GridOption.CheckIndex(a, outDir);
            string? dataDir = a.Get("data");
            int? limit = ReadLimit(a);
            var data = LoadData(context, dataDir, limit);
            SessionRunner.RequireTestImages(data);
            using var device = DeviceOption.Open(context);
            context.Note(Invariant($"grid of {models.Count} VAEs {data.Train.Pixels}-{baseOptions.Hidden}-{baseOptions.Latent}, batch {baseOptions.BatchSize}{(baseOptions.Binarize ? ", binarized" : "")}; one folder each under {outDir}"));
            var trainers = new List<VaeTrainer>(count);
            try
            {
                for (int i = first; i < first + count; i++)
                {
                    var o = options[i];
                    trainers.Add(new VaeTrainer(device, Vae.Create(data.Train.Pixels, o.Hidden, o.Latent, o.Seed), data, o));
                }
                var config = Config(trainers[0].Vae, baseOptions, data, device.Info.Kind);
                config.Remove("seed");
                foreach (var k in GridKeys)
                {
                    if (models[0].Get(k) is not null)
                        config.Remove(k);
                }
                return TrainGrid(context, trainers, first, null, models, data, outDir, config, epochs, every, SessionRunner.DataMetadata(dataDir, limit, data.Description));
            }
            finally
            {
                for (int i = trainers.Count - 1; i >= 0; i--)
                    trainers[i].Dispose();
            }
        }

        /// <summary><c>--resume DIR</c> on a grid's folder (it holds grid.json): every VAE continues from its checkpoint, the grid together.</summary>
        private static int ResumeGrid(CommandContext context, string dir)
        {
            var a = context.Args;
            var fixedFlags = new[] { "hidden", "latent", "beta", "batch", "binarize", "seed", "lr", "out", "overwrite" }.Where(a.Has).Select(f => "--" + f).ToList();
            if (fixedFlags.Count > 0)
                throw new UsageException($"{string.Join(", ", fixedFlags)} cannot change when a grid resumes: its models keep their settings and folders (only --epochs, --checkpoint-every, --data and --limit may be given)");
            int every = a.GetInt("checkpoint-every", 0);
            int epochs = a.Has("epochs") ? a.GetInt("epochs") : 0;
            if (every < 0 || (a.Has("epochs") && epochs < 1))
                throw new UsageException("--checkpoint-every must be >= 0 and --epochs >= 1");
            var (config, models) = GridOption.ReadIndex(dir, "vae train");
            var (first, count) = SessionRunner.GridShare(context, models.Count);
            var checkpoints = SessionRunner.ReadGridCheckpoints(context, dir, models, VaeCheckpoint.Format, "a VAE", "infogpu vae train");
            string? dataDir = a.Get("data") ?? SessionRunner.Stored(checkpoints[0], "data_dir");
            int? limit = ReadLimit(a) ?? SessionRunner.StoredLimit(checkpoints[0]);
            var data = LoadData(context, dataDir, limit);
            SessionRunner.RequireTestImages(data);
            using var device = DeviceOption.Open(context);
            var trainers = new List<VaeTrainer>(count);
            try
            {
                for (int i = first; i < first + count; i++)
                    trainers.Add(VaeTrainer.Resume(device, checkpoints[i], data, DataParallel.None));
                context.Note($"resuming the grid of {models.Count} VAEs in {dir}: {trainers[0].Epoch} epochs and {trainers[0].Step} steps done");
                return TrainGrid(context, trainers, first, checkpoints, models, data, dir, config, epochs, every, SessionRunner.DataMetadata(dataDir, limit, data.Description));
            }
            finally
            {
                for (int i = trainers.Count - 1; i >= 0; i--)
                    trainers[i].Dispose();
            }
        }

        /// <summary>
        /// Sessions, the grid's run, each model's pictures, the index and the report: what a new and a
        /// resumed grid share. <paramref name="trainers"/> are this process's models, from model
        /// <paramref name="first"/> on: all of them in one process, this rank's block under mpirun
        /// (<see cref="DistributedGrid{TMetrics}"/>; rank 0 then writes and prints for every model).
        /// </summary>
        private static int TrainGrid(
            CommandContext context, List<VaeTrainer> trainers, int first, List<TensorSet>? resumedFrom, IReadOnlyList<GridModel> models, Dataset data,
            string outDir, JsonObject config, int epochs, int every, Dictionary<string, string> metadata)
        {
            Action<int, VaeEpochMetrics> note = (i, r) => context.Note(Invariant($"{models[i].Folder} epoch {r.Epoch,3}: {r.Seconds:F2} s  train {r.TrainLoss:F4}  test {r.TestLoss:F4} (BCE {r.TestReconstruction:F4}, KL {r.TestKl:F4})"));
            var (code, sessions, fused, spread) = SessionRunner.TrainGrid(context, "vae train", trainers, first, resumedFrom, models, outDir, config, epochs, every, metadata, note);
            if (code != 0 || !context.Cluster.IsRoot)
                return code;
            for (int i = 0; i < models.Count; i++)
            {
                string folder = Path.Combine(outDir, models[i].Folder);
                if (i >= first && i < first + trainers.Count)
                {
                    SavePictures(folder, trainers[i - first], data);
                }
                else if (spread?.ReceivedState(i) is TensorSet state)
                {
                    // Another rank's model: drawn here from its last state, as its rank would have.
                    using var trainer = VaeTrainer.Resume(trainers[0].Device, state, data, DataParallel.None);
                    SavePictures(folder, trainer, data);
                }
            }
            var index = GridOption.Index("vae train", outDir, config, models, sessions, fused);
            GridOption.WriteIndex(outDir, index);
            if (context.Args.Json)
            {
                Json.Write(context.Out, index);
                return 0;
            }
            context.Out.WriteLine(string.Join("  ", new[] { "model", "test_loss", "BCE", "KL" }.Select((h, i) => i == 0 ? h.PadRight(32) : h.PadLeft(10))));
            for (int i = 0; i < models.Count; i++)
            {
                var r = sessions[i].History[^1];
                string[] cells = [models[i].Folder, Invariant($"{r.TestLoss:F4}"), Invariant($"{r.TestReconstruction:F4}"), Invariant($"{r.TestKl:F4}")];
                context.Out.WriteLine(string.Join("  ", cells.Select((c, j) => j == 0 ? c.PadRight(32) : c.PadLeft(10))));
            }
            context.Out.WriteLine($"{models.Count} models in {outDir}, indexed in {Path.Combine(outDir, GridOption.IndexFile)}");
            return 0;
        }

        private static void SavePictures(string outDir, VaeTrainer trainer, Dataset data)
        {
            var vae = trainer.Vae;
            var test = trainer.Options.Binarize ? data.Test.Binarized() : data.Test;
            using var analysis = new VaeAnalysis(trainer.Device, vae, test.Images);
            if (data.Test.Rows * data.Test.Cols == vae.Input)
            {
                VaePlots.Reconstructions(Path.Combine(outDir, "reconstructions.png"), analysis, test.Images, data.Test.Rows);
                VaePlots.Samples(Path.Combine(outDir, "samples.png"), analysis, data.Test.Rows, 64, trainer.Options.Seed);
            }
            VaePlots.Latent(Path.Combine(outDir, "latent.png"), analysis.Latent());
        }

        private static void Print(CommandContext context, TrainingSession<VaeEpochMetrics> session, JsonObject config)
        {
            var rows = session.NewEpochs;
            if (context.Args.Json)
            {
                var epochs = new JsonArray();
                foreach (var r in rows)
                {
                    epochs.Add(new JsonObject
                    {
                        ["epoch"] = r.Epoch,
                        ["seconds"] = Json.Number(r.Seconds),
                        ["train_loss"] = Json.Number(r.TrainLoss),
                        ["test_loss"] = Json.Number(r.TestLoss),
                        ["test_reconstruction"] = Json.Number(r.TestReconstruction),
                        ["test_kl"] = Json.Number(r.TestKl),
                    });
                }
                Json.Write(context.Out, new JsonObject { ["config"] = config, ["epochs"] = epochs, ["model"] = session.CheckpointPath });
            }
            else if (rows.Count > 0)
            {
                var last = rows[^1];
                context.Out.WriteLine(Invariant($"test loss after {last.Epoch} epochs: {Json.Number(last.TestLoss)} nats per image (reconstruction {Json.Number(last.TestReconstruction)}, KL {Json.Number(last.TestKl)})"));
            }
        }
    }

    private sealed class Eval : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "vae eval",
            "evaluate a trained VAE on the test images: ELBO and its parts, importance-weighted log-likelihood, latent statistics",
            "--model DIR/model.safetensors [--data DIR] [--limit N] [--iwae-samples 500] [--iwae-images 1000] [--mc-samples 10] [--seed 1] [--accelerator KIND] [--json]",
            [
                OptionSpec.File("model", "FILE", "model.safetensors written by 'infogpu vae train --out DIR'"),
                .. DataOptions,
                OptionSpec.Int("iwae-samples", "K", "importance samples per image for log p(x) (default 500)", 500),
                OptionSpec.Int("iwae-images", "N", "first N test images for the importance-weighted estimate (default 1000)", 1000),
                OptionSpec.Int("mc-samples", "N", "z samples per image of the Monte-Carlo ELBO (default 10)", 10),
                OptionSpec.Int("seed", "S", "Philox seed of the evaluation noise (default 1)", 1),
                CommandSpec.Accelerator,
            ],
            ["infogpu vae eval --model out/vae/model.safetensors", "infogpu vae eval --model out/vae/model.safetensors --iwae-samples 50 --json"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string path = a.Require("model");
            if (Directory.Exists(path))
                path = Path.Combine(path, ModelFile);
            if (!File.Exists(path))
                throw new InfoGpuException($"--model {path} does not exist; give the model.safetensors written by 'infogpu vae train --out DIR'");
            var vae = VaeCheckpoint.LoadModel(path, out bool verified);
            var trained = verified ? VaeCheckpoint.LoadOptions(path) : new VaeTrainerOptions { Hidden = vae.Hidden, Latent = vae.Latent };
            if (!verified)
                context.Err.WriteLine($"note: {path} has no InfoGpu checksum (written by another tool): read as PyTorch's examples/vae tensors, not verified; images used as grey levels");
            int k = a.GetInt("iwae-samples", 500), images = a.GetInt("iwae-images", 1000), mc = a.GetInt("mc-samples", 10), seed = a.GetInt("seed", 1);
            if (k < 1 || images < 1 || mc < 1 || seed < 0)
                throw new UsageException("--iwae-samples, --iwae-images and --mc-samples must be >= 1, --seed >= 0");
            var data = LoadData(context);
            if (data.Test.Pixels != vae.Input)
                throw new InfoGpuException($"the test images have {data.Test.Pixels} pixels but the model has {vae.Input} inputs");
            var test = trained.Binarize ? data.Test.Binarized() : data.Test;
            using var device = DeviceOption.Open(context);
            using var analysis = new VaeAnalysis(device, vae, test.Images);
            var elbo = analysis.Elbo((ulong)seed);
            var mcElbo = analysis.MonteCarloElbo(mc, (ulong)seed, Math.Min(images, test.Count));
            var iw = analysis.ImportanceWeighted(k, (ulong)seed, images);
            var lat = analysis.Latent();
            if (a.Json)
            {
                Json.Write(context.Out, new JsonObject
                {
                    ["elbo"] = Json.Number(elbo.Elbo),
                    ["reconstruction"] = Json.Number(elbo.Reconstruction),
                    ["kl"] = Json.Number(elbo.Kl),
                    ["iwae_log_likelihood"] = Json.Number(iw.LogLikelihood),
                    ["active_units"] = lat.ActiveUnits,
                    ["latent"] = LatentJson(lat),
                    ["iwae"] = new JsonObject { ["samples"] = iw.Samples, ["images"] = iw.Images, ["log_likelihood"] = Json.Number(iw.LogLikelihood), ["standard_error"] = Json.Number(iw.StandardError), ["elbo"] = Json.Number(iw.Elbo), ["seconds"] = Json.Number(iw.Seconds) },
                    ["monte_carlo_elbo"] = new JsonObject { ["samples"] = mcElbo.Samples, ["images"] = mcElbo.Images, ["monte_carlo"] = Json.Number(mcElbo.MonteCarlo), ["standard_error"] = Json.Number(mcElbo.StandardError), ["analytic_kl"] = Json.Number(mcElbo.Analytic) },
                    ["images"] = elbo.Images,
                    ["model"] = path,
                    ["verified"] = verified,
                });
            }
            else
            {
                var t = new Table(["measure", "nats per image"]);
                t.Add("ELBO (analytic KL, 1 sample)", elbo.Elbo);
                t.Add("  reconstruction -E log p(x|z)", elbo.Reconstruction);
                t.Add("  KL(q(z|x) || p(z))", elbo.Kl);
                t.Add(FormattableString.Invariant($"ELBO, Monte-Carlo KL ({mc} samples, {mcElbo.Images} images)"), mcElbo.MonteCarlo);
                t.Add(FormattableString.Invariant($"ELBO, analytic KL (same samples)"), mcElbo.Analytic);
                t.Add(FormattableString.Invariant($"IWAE log p(x) (K={k}, {iw.Images} images)"), iw.LogLikelihood);
                context.Out.Write(t.ToString());
                context.Out.WriteLine(FormattableString.Invariant($"active units (Cov_x E[z|x] > 0.01): {lat.ActiveUnits} of {vae.Latent}; mu mean {lat.MuMean:F3} std {lat.MuStd:F3}; sigma mean {lat.SigmaMean:F3} (min {lat.SigmaMin:F3}, max {lat.SigmaMax:F3})"));
            }
            return 0;
        }
    }

    internal static JsonObject LatentJson(VaeLatentStatistics lat) => new()
    {
        ["mu_mean"] = Json.Number(lat.MuMean),
        ["mu_std"] = Json.Number(lat.MuStd),
        ["sigma_mean"] = Json.Number(lat.SigmaMean),
        ["sigma_min"] = Json.Number(lat.SigmaMin),
        ["sigma_max"] = Json.Number(lat.SigmaMax),
        ["kl_per_dimension"] = Json.Array(lat.KlPerDimension),
        ["mu_variance"] = Json.Array(lat.MuVariance),
        ["active_units"] = lat.ActiveUnits,
        ["active_threshold"] = VaeAnalysis.ActiveThreshold,
    };

    private sealed class SweepBeta : IDistributedCommand
    {
        public CommandSpec Spec { get; } = new(
            "vae sweep-beta",
            "train one VAE per beta and tabulate rate (KL) against distortion (reconstruction) on the test images",
            "--betas 0.5,1,2,4 [--data DIR] [--limit N] [--hidden 400] [--latent 20] [--epochs 10] [--batch 128] [--lr 1e-3] [--binarize] [--seed 1] [--out DIR] [--accelerator KIND] [--json]",
            [
                OptionSpec.Numbers("betas", "B1,B2,...", "KL weights to train with"),
                .. DataOptions,
                .. TrainOptions.Where(o => o.Name != "beta"),
                OptionSpec.File("out", "DIR", "write DIR/rate_distortion.csv and DIR/rate_distortion.png"),
                OptionSpec.Choice(
                    "grid-step",
                    "train the betas together as one grid stepped this way (fused: one set of launches for every beta; auto: fused on cuda and opencl), each model with its bits alone on cpu; every model then holds its own copy of the images (default: one beta after another, whole)",
                    ["auto", "fused", "one-by-one"]),
                CommandSpec.Accelerator,
            ],
            ["infogpu vae sweep-beta --betas 0.5,1,2,4 --epochs 5 --out out/beta", "infogpu vae sweep-beta --betas 1,4 --limit 2000 --epochs 2 --json"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            var betas = a.GetList("betas");
            if (betas.Any(b => b < 0))
                throw new UsageException("--betas: every beta must be >= 0");
            var options = ReadOptions(a);
            var data = LoadData(context);
            using var device = DeviceOption.Open(context);
            using var stop = new StopSignals();
            GridStepping? together = a.Has("grid-step") ? GridOption.ParseStepping(a, grid: true) : null;
            var points = VaeBetaSweep.Run(device, data, betas, options, p =>
                context.Note(Invariant($"beta {p.Beta,6:G4}: rate {p.Rate:F3}  distortion {p.Distortion:F3}  active units {p.ActiveUnits}  ({p.Seconds:F1} s)")), stop.Token, context.Cluster, together);
            if (stop.Token.IsCancellationRequested || points.Count < betas.Length)
            {
                context.Err.WriteLine(Invariant($"interrupted after {points.Count} of {betas.Length} betas; nothing written"));
                return stop.Token.IsCancellationRequested ? stop.ExitCode : 1;
            }
            string? outDir = a.Get("out");
            string? plot = null;
            if (outDir is not null && context.Cluster.IsRoot)
            {
                var csv = new List<string> { "beta,rate,distortion,elbo,active_units,seconds" };
                csv.AddRange(points.Select(p => FormattableString.Invariant($"{p.Beta:R},{p.Rate:R},{p.Distortion:R},{p.Elbo:R},{p.ActiveUnits},{p.Seconds:R}")));
                Plots.SaveAtomically(Path.Combine(outDir, "rate_distortion.csv"), tmp => File.WriteAllLines(tmp, csv));
                plot = Path.Combine(outDir, "rate_distortion.png");
                VaePlots.RateDistortion(plot, points);
            }
            if (a.Json)
            {
                var arr = new JsonArray();
                foreach (var p in points)
                    arr.Add(new JsonObject { ["beta"] = p.Beta, ["rate"] = Json.Number(p.Rate), ["distortion"] = Json.Number(p.Distortion), ["elbo"] = Json.Number(p.Elbo), ["active_units"] = p.ActiveUnits, ["seconds"] = Json.Number(p.Seconds) });
                var config = Config(new Vae(data.Train.Pixels, options.Hidden, options.Latent), options, data, device.Info.Kind);
                config.Remove("beta");
                config["betas"] = Json.Array(betas);
                Json.Write(context.Out, new JsonObject { ["config"] = config, ["points"] = arr, ["plot"] = plot });
            }
            else
            {
                var t = new Table(["beta", "rate (KL)", "distortion (BCE)", "ELBO", "active units"]);
                foreach (var p in points)
                    t.Add(p.Beta, p.Rate, p.Distortion, p.Elbo, p.ActiveUnits);
                context.Out.Write(t.ToString());
            }
            return 0;
        }
    }
}
