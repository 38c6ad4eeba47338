using System.Buffers.Binary;
using System.IO.Compression;
using InfoGpu.Data;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Data;

public class ImageDataTests
{
    private static byte[] Idx(int count, int rows, int cols, Func<int, byte> pixel, int magic = 0x803)
    {
        var b = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(b, magic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
        for (int i = 0; i < count * rows * cols; i++)
            b[16 + i] = pixel(i);
        return b;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var g = new GZipStream(ms, CompressionLevel.Fastest))
            g.Write(raw);
        return ms.ToArray();
    }

    [Fact]
    public void RawAndGzipIdxGiveTheSamePixels()
    {
        var raw = Idx(3, 2, 5, i => (byte)(i * 7));
        var a = IdxFile.ReadImages(new MemoryStream(raw), "raw");
        var b = IdxFile.ReadImages(new MemoryStream(Gzip(raw)), "gz");
        Assert.Equal((3, 2, 5), (a.Count, a.Rows, a.Cols));
        Assert.Equal(a.Images, b.Images);
        Assert.Equal(7f / 255f, a.Images[1]);
        var limited = IdxFile.ReadImages(new MemoryStream(Gzip(raw)), "gz", null, 2);
        Assert.Equal(2, limited.Count);
        Assert.Equal(a.Images.AsSpan(0, 20).ToArray(), limited.Images);
    }

    [Theory]
    [InlineData("magic", "not an IDX image file: magic number 0x00000804")]
    [InlineData("labels", "is an IDX label file")]
    [InlineData("dims", "impossible dimensions")]
    [InlineData("short", "is truncated: 29 of 30 bytes")]
    [InlineData("header", "truncated")]
    [InlineData("huge", "is truncated")]
    public void DefectsAreNamed(string defect, string message)
    {
        var raw = Idx(3, 2, 5, i => 1);
        byte[] bad = defect switch
        {
            "magic" => Idx(3, 2, 5, i => 1, 0x804),
            "labels" => Idx(3, 2, 5, i => 1, 0x801),
            "dims" => Idx(3, 0, 5, i => 1),
            "short" => raw[..^1],
            "header" => raw[..10],
            "huge" => Idx(1, 2, 5, i => 1).Select((x, i) => i == 7 ? (byte)0x7F : x).ToArray(),
            _ => raw,
        };
        var e = Assert.Throws<InfoGpuException>(() => IdxFile.ReadImages(new MemoryStream(bad), "f.idx"));
        Assert.Contains("f.idx", e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void EmbeddedSubsetIsFashionMnist()
    {
        var d = FashionMnist.LoadEmbedded();
        Assert.Equal((5000, 1000, 28, 28), (d.Train.Count, d.Test.Count, d.Train.Rows, d.Train.Cols));
        Assert.NotNull(d.Train.Labels);
        // Ten classes, roughly balanced (Fashion-MNIST's training order is shuffled).
        var counts = d.Train.Labels!.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 400, 600));
        Assert.All(d.Train.Images, v => Assert.InRange(v, 0f, 1f));
        // Fashion-MNIST's mean pixel intensity is 0.286 over the training set.
        Assert.InRange(d.Train.Images.Average(), 0.27, 0.30);
        var limited = FashionMnist.LoadEmbedded(100);
        Assert.Equal((100, 100), (limited.Train.Count, limited.Test.Count));
        Assert.Equal(d.Train.Images.AsSpan(0, 784 * 100).ToArray(), limited.Train.Images);
    }

    [Fact]
    public void EmbeddedSubsetMatchesTheDebianDatasetWhenInstalled()
    {
        if (!FashionMnist.DebianInstalled)
            return; // the Debian folder is optional; the subset test above checks the data itself
        var debian = FashionMnist.Load(FashionMnist.DebianDirectory, 5000);
        var embedded = FashionMnist.LoadEmbedded();
        Assert.Equal(debian.Train.Images, embedded.Train.Images);
        Assert.Equal(debian.Train.Labels, embedded.Train.Labels);
        Assert.Equal(debian.Test.Images.AsSpan(0, 784 * 1000).ToArray(), embedded.Test.Images);
    }

    [Fact]
    public void MissingFolderAndFilesAreOneLineErrors()
    {
        var e = Assert.Throws<InfoGpuException>(() => FashionMnist.Load("/nonexistent/folder"));
        Assert.Contains("/nonexistent/folder does not exist", e.Message);
        string dir = TestPaths.TempDir();
        e = Assert.Throws<InfoGpuException>(() => FashionMnist.Load(dir));
        Assert.Contains("has no train-images-idx3-ubyte", e.Message);
        File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte"), Idx(4, 28, 28, i => 3));
        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), Gzip(Idx(2, 28, 28, i => 9)));
        var d = FashionMnist.Load(dir);
        Assert.Equal((4, 2), (d.Train.Count, d.Test.Count));
        Assert.Null(d.Train.Labels);
    }

    [Fact]
    public void BinarizationAndMeans()
    {
        var set = new ImageSet([0.2f, 0.6f, 0.5f, 1f], 2, 1, 2, null, "t");
        Assert.Equal([0f, 1f, 0f, 1f], set.Binarized().Images);
        Assert.Equal([0.35f, 0.8f], set.PixelMeans());
        // Stochastic binarization: frequency of ones matches the intensity.
        var gray = new ImageSet(Enumerable.Repeat(0.3f, 20000).ToArray(), 20000, 1, 1, null, "t");
        double freq = gray.SampleBinarized(7).Images.Average();
        Assert.InRange(freq, 0.3 - 5 * 0.0033, 0.3 + 5 * 0.0033); // 5 standard errors of 20000 draws
        Assert.Equal(gray.SampleBinarized(7).Images, gray.SampleBinarized(7).Images);
    }

    [Fact]
    public void ShuffleIsASeededPermutation()
    {
        var a = Shuffle.Permutation(1000, 3, 0);
        Assert.Equal(Enumerable.Range(0, 1000), a.Order());
        Assert.Equal(a, Shuffle.Permutation(1000, 3, 0));
        Assert.NotEqual(a, Shuffle.Permutation(1000, 3, 1));
        Assert.NotEqual(a, Shuffle.Permutation(1000, 4, 0));
        // Position of element 0 is uniform: over 2000 epochs of n = 10, each slot about 200 times.
        var hits = new int[10];
        for (ulong e = 0; e < 2000; e++)
            hits[Array.IndexOf(Shuffle.Permutation(10, 1, e), 0)]++;
        Assert.All(hits, h => Assert.InRange(h, 200 - 5 * 14, 200 + 5 * 14)); // sd = sqrt(2000 * 0.1 * 0.9) = 13.4
    }
}
