// InfoGpu in a few lines: an entropy, then an RBM trained on the embedded Fashion-MNIST subset.
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Measures;
using InfoGpu.Restricted;

using var device = ComputeDevice.Open(DeviceKind.Auto);                       // cuda, then opencl, then cpu
float[] h = new InformationMeasures(device).Entropy([0.5f, 0.25f, 0.25f], 3, LogBase.Bits);
Console.WriteLine($"H(1/2, 1/4, 1/4) = {h[0]} bits on {device.Info.Kind}");  // 1.5

var data = FashionMnist.LoadEmbedded(limit: 2000);                            // or FashionMnist.Load("/path/to/idx")
var train = data.Train.Binarized();
var rbm = Rbm.Initialize(train.Pixels, hidden: 64, seed: 1, pixelMeans: train.PixelMeans());
using var trainer = new RbmTrainer(device, rbm, train.Images, data.Test.Binarized().Images, new RbmTrainerOptions());
for (int epoch = 0; epoch < 2; epoch++)
{
    var m = trainer.TrainEpoch()!;                                            // null only when cancelled
    Console.WriteLine($"epoch {m.Epoch}: reconstruction error {m.ReconstructionError:F2}, pseudo-log-likelihood {m.PseudoLogLikelihood:F2}");
}
