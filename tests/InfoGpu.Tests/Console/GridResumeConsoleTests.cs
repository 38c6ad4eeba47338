using InfoGpu.Checkpoints;
using InfoGpu.Training;

namespace InfoGpu.Tests.Console;

/// <summary>
/// A grid writes its models' checkpoints one after another, each keeping the one it replaces as
/// model.previous.safetensors. A process killed between two writes leaves some models a
/// checkpoint ahead of the others (or, killed between the rename and the write, with only the
/// previous one); <c>--resume</c> then continues every model from the last step all of them
/// reached, to the bits of a run that was never stopped. The kills are made here by putting the
/// folders in the states a kill leaves (a real SIGKILL cannot be aimed between two writes).
/// </summary>
public class GridResumeConsoleTests
{
    private static readonly string[] Shape = ["--hidden", "8", "--limit", "300", "--batch", "50", "--sample-steps", "2", "--accelerator", "cpu", "--quiet"];

    // 300 images in batches of 50: 6 steps an epoch.
    private const int StepsPerEpoch = 6;

    private static long StepOf(string path) => long.Parse(SafeTensors.Read(path).GetMetadata(TrainingSession.StepKey), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void AGridStoppedWhileWritingItsCheckpointsResumesFromTheLastCompleteSet()
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-grid-resume-{Environment.ProcessId}");
        try
        {
            string grid = Path.Combine(root, "grid"), straight = Path.Combine(root, "straight");
            var (code, _, err) = ConsoleRunner.Run(["rbm", "train", "--seeds", "1-3", "--epochs", "2", .. Shape, "--out", grid]);
            Assert.True(code == 0, err);
            foreach (int s in new[] { 1, 2, 3 })
            {
                // Each model keeps the checkpoint its last one replaced: the end of epoch 1.
                Assert.Equal(2 * StepsPerEpoch, StepOf(Path.Combine(grid, $"seed-{s}", TrainingSession.CheckpointFile)));
                Assert.Equal(StepsPerEpoch, StepOf(Path.Combine(grid, $"seed-{s}", TrainingSession.PreviousCheckpointFile)));
            }

            // Killed while writing the set of epoch 2: seed-1 written, seed-2 not yet (its files
            // those of epoch 1), seed-3 between renaming its checkpoint and writing the new one.
            string Seed(int s, string file) => Path.Combine(grid, $"seed-{s}", file);
            File.Move(Seed(2, TrainingSession.PreviousCheckpointFile), Seed(2, TrainingSession.CheckpointFile), overwrite: true);
            File.Delete(Seed(3, TrainingSession.CheckpointFile));

            // To epoch 2 only: seed-1's checkpoint of the abandoned epoch 2 is replaced and its
            // previous one stays that of epoch 1 (never a state of the run the grid gave up).
            (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", grid, "--epochs", "2", "--accelerator", "cpu");
            Assert.True(code == 0, err);
            Assert.Contains("seed-1: continues from its previous checkpoint", err, StringComparison.Ordinal);
            Assert.Contains("seed-3: continues from its previous checkpoint", err, StringComparison.Ordinal);
            Assert.DoesNotContain("seed-2: continues", err, StringComparison.Ordinal);
            Assert.Contains("at epoch 1, step 0", err, StringComparison.Ordinal);
            Assert.Equal(StepsPerEpoch, StepOf(Seed(1, TrainingSession.PreviousCheckpointFile)));
            Assert.Equal(2 * StepsPerEpoch, StepOf(Seed(1, TrainingSession.CheckpointFile)));

            // And on to epoch 3: the same bits as a grid that was never stopped.
            (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", grid, "--epochs", "3", "--accelerator", "cpu");
            Assert.True(code == 0, err);
            Assert.DoesNotContain("continues from its previous checkpoint", err, StringComparison.Ordinal);
            (code, _, err) = ConsoleRunner.Run(["rbm", "train", "--seeds", "1-3", "--epochs", "3", .. Shape, "--out", straight]);
            Assert.True(code == 0, err);
            foreach (int s in new[] { 1, 2, 3 })
                RbmGridConsoleTests.AssertSameState(Seed(s, TrainingSession.CheckpointFile), Path.Combine(straight, $"seed-{s}", TrainingSession.CheckpointFile));
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void GridsWithoutACommonCheckpointAreOneLineErrors()
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-grid-resume-bad-{Environment.ProcessId}");
        try
        {
            string grid = Path.Combine(root, "grid"), other = Path.Combine(root, "other");
            var (code, _, err) = ConsoleRunner.Run(["vae", "train", "--seeds", "1-2", "--epochs", "2", "--hidden", "8", "--latent", "2", "--limit", "256", "--batch", "64", "--accelerator", "cpu", "--quiet", "--out", grid]);
            Assert.True(code == 0, err);

            // The VAE grid continues from a set stopped half-written, as the RBM's does.
            File.Delete(Path.Combine(grid, "seed-2", TrainingSession.CheckpointFile));
            (code, _, err) = ConsoleRunner.Run("vae", "train", "--resume", grid, "--epochs", "2", "--accelerator", "cpu");
            Assert.True(code == 0, err);
            Assert.Contains("seed-2: continues from its previous checkpoint", err, StringComparison.Ordinal);

            // A model with no checkpoint at all while the others have one: stopped before the first set was whole.
            File.Delete(Path.Combine(grid, "seed-2", TrainingSession.CheckpointFile));
            File.Delete(Path.Combine(grid, "seed-2", TrainingSession.PreviousCheckpointFile));
            (code, _, err) = ConsoleRunner.Run("vae", "train", "--resume", grid, "--accelerator", "cpu", "--quiet");
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("before every model's first checkpoint was written", err, StringComparison.Ordinal);

            // Checkpoints of steps no other model has (6, against 4 and 8): from another run, not one set.
            (code, _, err) = ConsoleRunner.Run(["vae", "train", "--seeds", "1-2", "--epochs", "1", "--hidden", "8", "--latent", "2", "--limit", "256", "--batch", "50", "--accelerator", "cpu", "--quiet", "--out", other]);
            Assert.True(code == 0, err);
            foreach (string f in new[] { TrainingSession.CheckpointFile, TrainingSession.PreviousCheckpointFile })
            {
                string from = Path.Combine(other, "seed-2", f);
                if (File.Exists(from))
                    File.Copy(from, Path.Combine(grid, "seed-2", f), overwrite: true);
            }
            (code, _, err) = ConsoleRunner.Run("vae", "train", "--resume", grid, "--accelerator", "cpu", "--quiet");
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("no checkpoints of a common step", err, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }
}
