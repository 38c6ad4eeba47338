using System.IO.Compression;

namespace InfoGpu.Host.Output;

/// <summary>Grids of small grayscale images (RBM filters and samples) written as 8-bit PNG files.</summary>
internal static class ImageTiles
{
    /// <summary>
    /// Writes <paramref name="count"/> tiles of tileRows x tileCols values (tile t starts at
    /// t * stride, element (r, c) at r * tileCols + c, step <paramref name="elementStride"/>) in a grid
    /// of <paramref name="columns"/> tiles per row with 1-pixel gaps. Each tile is scaled to its own
    /// min..max when <paramref name="normalizeEach"/>, else 0..1 is black..white.
    /// </summary>
    public static void Save(string path, ReadOnlySpan<float> values, int count, int tileRows, int tileCols, long stride, int elementStride, int columns, bool normalizeEach, int scale = 2)
    {
        int gridCols = Math.Max(1, Math.Min(columns, count));
        int gridRows = Math.Max(1, (count + gridCols - 1) / gridCols);
        int width = (gridCols * (tileCols + 1) + 1) * scale;
        int height = (gridRows * (tileRows + 1) + 1) * scale;
        var pixels = new byte[width * height];
        Array.Fill(pixels, (byte)64);
        for (int t = 0; t < count; t++)
        {
            float lo = 0f, hi = 1f;
            if (normalizeEach)
            {
                lo = float.PositiveInfinity;
                hi = float.NegativeInfinity;
                for (int k = 0; k < tileRows * tileCols; k++)
                {
                    float v = values[(int)(t * stride + (long)k * elementStride)];
                    lo = Math.Min(lo, v);
                    hi = Math.Max(hi, v);
                }
            }
            float range = hi > lo ? hi - lo : 1f;
            int ox = (t % gridCols) * (tileCols + 1) + 1, oy = (t / gridCols) * (tileRows + 1) + 1;
            for (int r = 0; r < tileRows; r++)
            {
                for (int c = 0; c < tileCols; c++)
                {
                    float v = values[(int)(t * stride + (long)(r * tileCols + c) * elementStride)];
                    float g = Math.Clamp((v - lo) / range, 0f, 1f);
                    byte px = float.IsFinite(g) ? (byte)Math.Round(g * 255f) : (byte)0;
                    for (int dy = 0; dy < scale; dy++)
                    {
                        int row = ((oy + r) * scale + dy) * width;
                        for (int dx = 0; dx < scale; dx++)
                            pixels[row + (ox + c) * scale + dx] = px;
                    }
                }
            }
        }
        Plots.SaveAtomically(path, tmp => File.WriteAllBytes(tmp, EncodePng(pixels, width, height)));
    }

    /// <summary>An 8-bit grayscale PNG (one IDAT, zlib-compressed scanlines with filter 0).</summary>
    public static byte[] EncodePng(byte[] gray, int width, int height)
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
        var ihdr = new byte[13];
        WriteBig(ihdr, 0, (uint)width);
        WriteBig(ihdr, 4, (uint)height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 0; // grayscale
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        WriteBig(head, 0, (uint)data.Length);
        for (int i = 0; i < 4; i++)
            head[4 + i] = (byte)type[i];
        s.Write(head);
        s.Write(data);
        uint crc = Crc32(head.AsSpan(4, 4), 0xFFFFFFFFu);
        crc = Crc32(data, crc) ^ 0xFFFFFFFFu;
        var tail = new byte[4];
        WriteBig(tail, 0, crc);
        s.Write(tail);
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    private static uint Crc32(ReadOnlySpan<byte> data, uint crc)
    {
        foreach (byte b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static void WriteBig(byte[] b, int at, uint v)
    {
        b[at] = (byte)(v >> 24);
        b[at + 1] = (byte)(v >> 16);
        b[at + 2] = (byte)(v >> 8);
        b[at + 3] = (byte)v;
    }
}
