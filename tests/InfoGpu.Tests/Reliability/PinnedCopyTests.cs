using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Reliability;

/// <summary>
/// ILGPU's host copies take a raw pointer to the host array: unless the engine pins it, a
/// compacting GC between that and the copy sends the data to the array's old place (a download
/// of zeros, a corrupt heap). This round-trips small buffers on ilgpu-cpu while another thread
/// forces compacting collections; before the pinning it failed within the first 800 round trips.
/// </summary>
public class PinnedCopyTests
{
    // The test runs for at least two seconds and until enough has happened: on a loaded 2-core
    // CI machine two seconds alone gave 152 round trips. The ceiling only stops a machine that crawls.
    private const int TripsWanted = 3000, CollectionsWanted = 300;
    private const double Seconds = 2.0, CeilingSeconds = 120.0;

    [Fact]
    public void CopiesSurviveCompactingCollections()
    {
        long trips = 0, wrong = 0;
        int collections = 0;
        // The collector runs only while this test holds the device: started before the lock, it
        // hammered the GC for as long as another test's kernels held ilgpu-cpu, which then crawled
        // (every group barrier waits for all its threads between collections) for minutes.
        TestDevices.Use("ilgpu-cpu", d =>
        {
            using var stop = new CancellationTokenSource();
            var collector = new Thread(() =>
            {
                var garbage = new List<byte[]>();
                while (!stop.IsCancellationRequested)
                {
                    for (int i = 0; i < 64; i++)
                        garbage.Add(new byte[System.Random.Shared.Next(16, 4096)]);
                    if (garbage.Count > 4096)
                        garbage.RemoveRange(0, 2048);
                    GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
                }
            }) { IsBackground = true };
            int collectionsBefore = GC.CollectionCount(0);
            collector.Start();
            try
            {
                using var buffer = d.Allocate<float>(64);
                var start = DateTime.UtcNow;
                var enough = start.AddSeconds(Seconds);
                var deadline = start.AddSeconds(CeilingSeconds);
                while ((trips < TripsWanted || GC.CollectionCount(0) - collectionsBefore < CollectionsWanted || DateTime.UtcNow < enough)
                       && DateTime.UtcNow < deadline)
                {
                    trips++;
                    var source = new float[64];
                    for (int i = 0; i < source.Length; i++)
                        source[i] = i + 1 + trips;
                    buffer.CopyFrom(source);
                    var back = new float[64];
                    buffer.CopyTo(back);
                    if (!back.AsSpan().SequenceEqual(source))
                        wrong++;
                }
            }
            finally
            {
                stop.Cancel();
                collector.Join();
            }
            collections = GC.CollectionCount(0) - collectionsBefore;
            return 0;
        });
        Assert.True(trips >= TripsWanted && collections >= CollectionsWanted, $"too little happened to test anything: {trips} round trips, {collections} collections");
        Assert.True(wrong == 0, $"{wrong} of {trips} round trips came back wrong under {collections} compacting collections");
    }
}
