using InfoGpu.Kernels;

namespace InfoGpu.Data;

/// <summary>How grey-level images in [0, 1] become the visible data of a binary model.</summary>
public enum BinarizeMode
{
    /// <summary>1 where the intensity exceeds 0.5, else 0 (<see cref="ImageSet.Binarized"/>).</summary>
    Threshold = 0,

    /// <summary>Each pixel drawn once, v ~ Bernoulli(intensity), from a seeded Philox stream (<see cref="ImageSet.SampleBinarized(ulong, ulong)"/>): a fixed binary data set, reproducible from the seed.</summary>
    Stochastic = 1,

    /// <summary>The grey levels themselves, in [0, 1], as the visible data (scikit-learn's BernoulliRBM convention): the positive phase uses them directly and CD chains start from them.</summary>
    None = 2,
}

/// <summary>
/// Grayscale images held on the host: <see cref="Count"/> images of <see cref="Rows"/> x
/// <see cref="Cols"/> pixels, row-major in <see cref="Images"/> with values in [0, 1]
/// (byte / 255), and optional class labels.
/// </summary>
public sealed class ImageSet
{
    /// <summary>Wraps images held on the host; the arrays are kept, not copied, and pixel values are not checked.</summary>
    /// <param name="images"><paramref name="count"/> x rows x cols values, row-major (image, then row, then column), normally in [0, 1].</param>
    /// <param name="count">Number of images (0 or more).</param>
    /// <param name="rows">Image height in pixels (at least 1).</param>
    /// <param name="cols">Image width in pixels (at least 1).</param>
    /// <param name="labels">One class label per image, or null.</param>
    /// <param name="source">Where the images came from, for <see cref="Source"/> and error messages.</param>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is null.</exception>
    /// <exception cref="InfoGpuException"><paramref name="count"/> is negative, <paramref name="rows"/> or <paramref name="cols"/> is below 1, <paramref name="images"/> does not hold count x rows x cols values, or <paramref name="labels"/> is not one per image.</exception>
    public ImageSet(float[] images, int count, int rows, int cols, byte[]? labels, string source)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (count < 0 || rows < 1 || cols < 1 || images.LongLength != (long)count * rows * cols)
            throw new InfoGpuException($"{source}: {images.LongLength} pixel values do not make {count} images of {rows}x{cols}");
        if (labels is not null && labels.Length != count)
            throw new InfoGpuException($"{source}: {labels.Length} labels for {count} images");
        Images = images;
        Count = count;
        Rows = rows;
        Cols = cols;
        Labels = labels;
        Source = source;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Image height in pixels.</summary>
    public int Rows { get; }

    /// <summary>Image width in pixels.</summary>
    public int Cols { get; }

    /// <summary>Values per image, <see cref="Rows"/> x <see cref="Cols"/>.</summary>
    public int Pixels => Rows * Cols;

    /// <summary>Count x Pixels values in [0, 1], row-major.</summary>
    public float[] Images { get; }

    /// <summary>One class label per image (0-9 for Fashion-MNIST), or null when the set has none.</summary>
    public byte[]? Labels { get; }

    /// <summary>Where the images came from (a path, or "embedded subset").</summary>
    public string Source { get; }

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Image(int index) => Images.AsSpan(index * Pixels, Pixels);

    /// <summary>The first <paramref name="count"/> images (all of them when there are fewer).</summary>
    public ImageSet Take(int count)
    {
        if (count < 0)
            throw new InfoGpuException($"cannot take {count} images; give a count >= 0");
        if (count >= Count)
            return this;
        return new ImageSet(Images.AsSpan(0, count * Pixels).ToArray(), count, Rows, Cols, Labels?.AsSpan(0, count).ToArray(), Source);
    }

    /// <summary>
    /// Images shrunk by <paramref name="factor"/> in each direction, each new pixel the mean of a
    /// factor x factor block (1: the images themselves). The sides must be multiples of the factor.
    /// </summary>
    public ImageSet Downscaled(int factor)
    {
        if (factor < 1 || Rows % factor != 0 || Cols % factor != 0)
            throw new InfoGpuException($"{Source}: cannot downscale {Rows}x{Cols} images by {factor}; give a factor >= 1 that divides both sides");
        if (factor == 1)
            return this;
        int rows = Rows / factor, cols = Cols / factor;
        var x = new float[Count * rows * cols];
        float scale = 1f / (factor * factor);
        for (int n = 0; n < Count; n++)
        {
            var img = Image(n);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    float s = 0;
                    for (int dr = 0; dr < factor; dr++)
                    {
                        for (int dc = 0; dc < factor; dc++)
                            s += img[((r * factor) + dr) * Cols + (c * factor) + dc];
                    }
                    x[(n * rows * cols) + (r * cols) + c] = s * scale;
                }
            }
        }
        return new ImageSet(x, Count, rows, cols, Labels, Source);
    }

    /// <summary>Images whose pixels are 1 where the intensity exceeds the threshold, else 0.</summary>
    public ImageSet Binarized(float threshold = 0.5f)
    {
        var x = new float[Images.Length];
        for (int i = 0; i < x.Length; i++)
            x[i] = Images[i] > threshold ? 1f : 0f;
        return new ImageSet(x, Count, Rows, Cols, Labels, Source);
    }

    /// <summary>Stochastic binarization: each pixel is 1 with probability equal to its intensity (Philox stream 0x1D5).</summary>
    public ImageSet SampleBinarized(ulong seed) => SampleBinarized(seed, TrainStream);

    /// <summary>Stochastic binarization: pixel i is 1 when Philox uniform (seed, stream, i) is below its intensity.</summary>
    public ImageSet SampleBinarized(ulong seed, ulong stream)
    {
        var x = new float[Images.Length];
        for (int i = 0; i < x.Length; i++)
            x[i] = Philox.Uniform(seed, stream, (ulong)i) < Images[i] ? 1f : 0f;
        return new ImageSet(x, Count, Rows, Cols, Labels, Source);
    }

    private const ulong TrainStream = 0x1D5, HeldOutStream = 0x1D6;

    /// <summary>
    /// The images as visible data of a binary model: <see cref="BinarizeMode.Threshold"/> at 0.5,
    /// <see cref="BinarizeMode.Stochastic"/> drawn once from (seed, stream 0x1D5 for training
    /// images or 0x1D6 for held-out ones, so the two sets' draws are independent), or
    /// <see cref="BinarizeMode.None"/>: these grey levels (this set itself, after checking that
    /// every value is in [0, 1]).
    /// </summary>
    /// <exception cref="InfoGpuException">A pixel is outside [0, 1] or NaN (for <see cref="BinarizeMode.None"/>), or the mode is not one of the three.</exception>
    public ImageSet AsVisibleData(BinarizeMode mode, ulong seed, bool heldOut) => mode switch
    {
        BinarizeMode.Threshold => Binarized(0.5f),
        BinarizeMode.Stochastic => SampleBinarized(seed, heldOut ? HeldOutStream : TrainStream),
        BinarizeMode.None => CheckUnitInterval(),
        _ => throw new InfoGpuException($"binarize mode {(int)mode} is not threshold, stochastic or none"),
    };

    private ImageSet CheckUnitInterval()
    {
        for (int i = 0; i < Images.Length; i++)
        {
            if (!(Images[i] >= 0 && Images[i] <= 1))
                throw new InfoGpuException($"{Source}: pixel {i % Pixels} of image {i / Pixels} is {Images[i]}; grey levels as data must lie in [0, 1]");
        }
        return this;
    }

    /// <summary>The mean of each pixel over the images (float64 sums).</summary>
    public float[] PixelMeans()
    {
        var sums = new double[Pixels];
        for (int n = 0; n < Count; n++)
        {
            var img = Image(n);
            for (int i = 0; i < sums.Length; i++)
                sums[i] += img[i];
        }
        var means = new float[Pixels];
        for (int i = 0; i < means.Length; i++)
            means[i] = Count == 0 ? 0f : (float)(sums[i] / Count);
        return means;
    }
}
