using System.Buffers.Binary;
using System.IO.Compression;

namespace InfoGpu.Host.Output;

/// <summary>Grayscale tile grids as 8-bit PNG files (images in [0, 1], one tile per image, 1-pixel gaps).</summary>
internal static class VaeImages
{
    /// <summary>Writes <paramref name="count"/> images of rows x cols pixels in a grid of <paramref name="columns"/> tiles, each pixel scaled up <paramref name="scale"/> times.</summary>
    public static void WriteGrid(string path, ReadOnlySpan<float> images, int count, int rows, int cols, int columns, int scale = 2)
    {
        int gridRows = (count + columns - 1) / columns;
        int width = columns * (cols * scale + 1) + 1, height = gridRows * (rows * scale + 1) + 1;
        var pixels = new byte[width * height];
        Array.Fill(pixels, (byte)128);
        for (int k = 0; k < count; k++)
        {
            int x0 = 1 + k % columns * (cols * scale + 1), y0 = 1 + k / columns * (rows * scale + 1);
            for (int r = 0; r < rows * scale; r++)
            {
                for (int c = 0; c < cols * scale; c++)
                {
                    float v = images[k * rows * cols + r / scale * cols + c / scale];
                    pixels[(y0 + r) * width + x0 + c] = (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
                }
            }
        }
        var copy = pixels;
        Plots.SaveAtomically(path, tmp => File.WriteAllBytes(tmp, Png(copy, width, height)));
    }

    private static byte[] Png(byte[] gray, int width, int height)
    {
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0);
                z.Write(gray, y * width, width);
            }
        }
        using var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 0; // grayscale
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var buf = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        s.Write(buf);
        var body = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++)
            body[i] = (byte)type[i];
        data.CopyTo(body, 4);
        s.Write(body);
        BinaryPrimitives.WriteUInt32BigEndian(buf, Crc32(body));
        s.Write(buf);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
