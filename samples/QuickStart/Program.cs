// InfoGpu in a few lines: an entropy, then an RBM trained on the embedded Fashion-MNIST subset
// by a training session (checkpoints, metrics.csv, Ctrl-C, resume).
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Measures;
using InfoGpu.Restricted;
using InfoGpu.Training;

using var device = ComputeDevice.Open(DeviceKind.Auto);                       // cuda, then opencl, then cpu
float[] h = new InformationMeasures(device).Entropy([0.5f, 0.25f, 0.25f], 3, LogBase.Bits);
Console.WriteLine($"H(1/2, 1/4, 1/4) = {h[0]} bits on {device.Info.Kind}");  // 1.5

var data = FashionMnist.LoadEmbedded(limit: 2000);                            // or FashionMnist.Load("/path/to/idx")
var train = data.Train.Binarized();
var test = data.Test.Binarized();
string dir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "infogpu-quickstart");
var checkpoint = File.Exists(Path.Combine(dir, TrainingSession.CheckpointFile))
    ? TrainingSession.ReadCheckpoint(dir, RbmCheckpoint.Format, "an RBM", "QuickStart")
    : null;
using var trainer = checkpoint is null
    ? new RbmTrainer(device, Rbm.Initialize(train.Pixels, hidden: 64, seed: 1, pixelMeans: train.PixelMeans()), train.Images, test.Images, new RbmTrainerOptions { Epochs = 2 })
    : RbmTrainer.Resume(device, checkpoint, train.Images, test.Images);  // continues bit for bit
var session = new TrainingSession<RbmEpochMetrics>(trainer, new TrainingSessionOptions { Directory = dir, Epochs = trainer.Epoch + 2 }, checkpoint);
session.EpochCompleted += m => Console.WriteLine($"epoch {m.Epoch}: reconstruction error {m.ReconstructionError:F2}, pseudo-log-likelihood {m.PseudoLogLikelihood:F2}");
using var stop = new StopSignals();                                           // Ctrl-C: checkpoint, then stop
Console.WriteLine(session.Run(stop.Token) == TrainingStop.Completed ? $"model: {session.CheckpointPath}" : "interrupted; run again to resume");
