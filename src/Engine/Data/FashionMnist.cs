using System.Reflection;

namespace InfoGpu.Data;

/// <summary>Training and test images, and where they came from.</summary>
public sealed record Dataset(ImageSet Train, ImageSet Test, string Description);

/// <summary>
/// Fashion-MNIST (or any IDX folder with the same file names): Debian's
/// <c>dataset-fashion-mnist</c> when installed, else the subset embedded in the engine
/// (5,000 training and 1,000 test images), so every command works on a fresh machine.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the IDX files; <see cref="Load"/> without a folder uses it when it holds the training images.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>File name (without <c>.gz</c>) of the training images, IDX3 unsigned bytes (60,000 images of 28 x 28 in the full set).</summary>
    public const string TrainImages = "train-images-idx3-ubyte";
    /// <summary>File name (without <c>.gz</c>) of the training labels, IDX1 unsigned bytes (classes 0-9).</summary>
    public const string TrainLabels = "train-labels-idx1-ubyte";
    /// <summary>File name (without <c>.gz</c>) of the test images, IDX3 unsigned bytes (10,000 images of 28 x 28 in the full set).</summary>
    public const string TestImages = "t10k-images-idx3-ubyte";
    /// <summary>File name (without <c>.gz</c>) of the test labels, IDX1 unsigned bytes (classes 0-9).</summary>
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    private const string ResourcePrefix = "InfoGpu.Data.FashionMnistSubset.";

    /// <summary>
    /// Loads <paramref name="directory"/> (IDX files named as in Fashion-MNIST, raw or .gz);
    /// null means the Debian folder when present, else the embedded subset. With a limit, the
    /// first N training images and the first min(N, 10000) test images.
    /// </summary>
    public static Dataset Load(string? directory = null, int? limit = null)
    {
        if (limit is < 1)
            throw new InfoGpuException($"--limit must be at least 1 (got {limit})");
        if (directory is null)
            return Directory.Exists(DebianDirectory) && IdxFile.Find(DebianDirectory, TrainImages) is not null ? LoadDirectory(DebianDirectory, limit) : LoadEmbedded(limit);
        if (!Directory.Exists(directory))
            throw new InfoGpuException($"data folder {directory} does not exist; give a folder with {TrainImages}[.gz] and {TestImages}[.gz]");
        return LoadDirectory(directory, limit);
    }

    /// <summary>True when <see cref="Load"/> without a folder would use the Debian dataset.</summary>
    public static bool DebianInstalled => Directory.Exists(DebianDirectory) && IdxFile.Find(DebianDirectory, TrainImages) is not null;

    /// <summary>The subset shipped inside the engine (5,000 training and 1,000 test images with labels).</summary>
    public static Dataset LoadEmbedded(int? limit = null)
    {
        var asm = InfoGpu.Datasets.EmbeddedData.Assembly;
        var train = ReadResource(asm, TrainImages, TrainLabels, limit);
        var test = ReadResource(asm, TestImages, TestLabels, limit is int l ? Math.Min(l, 10000) : null);
        return new Dataset(train, test, $"Fashion-MNIST embedded subset ({train.Count} train, {test.Count} test images)");
    }

    private static Dataset LoadDirectory(string directory, int? limit)
    {
        string images = IdxFile.Find(directory, TrainImages)
            ?? throw new InfoGpuException($"{directory} has no {TrainImages}[.gz]; give a folder in the Fashion-MNIST/MNIST layout");
        string testImages = IdxFile.Find(directory, TestImages)
            ?? throw new InfoGpuException($"{directory} has no {TestImages}[.gz]; give a folder in the Fashion-MNIST/MNIST layout");
        var train = IdxFile.ReadImages(images, IdxFile.Find(directory, TrainLabels), limit);
        var test = IdxFile.ReadImages(testImages, IdxFile.Find(directory, TestLabels), limit is int l ? Math.Min(l, 10000) : null);
        if (train.Rows != test.Rows || train.Cols != test.Cols)
            throw new InfoGpuException($"{directory}: training images are {train.Rows}x{train.Cols} but test images are {test.Rows}x{test.Cols}");
        return new Dataset(train, test, $"{directory} ({train.Count} train, {test.Count} test images)");
    }

    private static ImageSet ReadResource(Assembly asm, string images, string labels, int? limit)
    {
        using var imageStream = asm.GetManifestResourceStream(ResourcePrefix + images + ".gz")
            ?? throw new InfoGpuException($"the embedded subset is missing {images}.gz; rebuild the engine");
        using var labelStream = asm.GetManifestResourceStream(ResourcePrefix + labels + ".gz")
            ?? throw new InfoGpuException($"the embedded subset is missing {labels}.gz; rebuild the engine");
        var l = IdxFile.ReadLabels(labelStream, "embedded " + labels);
        var set = IdxFile.ReadImages(imageStream, "embedded " + images, null, limit);
        return new ImageSet(set.Images, set.Count, set.Rows, set.Cols, l.AsSpan(0, set.Count).ToArray(), "embedded subset");
    }
}
